"""The Order:1 model both kafkaesk fixtures use, on an application for BROKERS and PREFIX."""
from typing import List, Optional

import kafkaesk
from pydantic import BaseModel


class Line(BaseModel):
    sku: str
    qty: int


def application(brokers: str, prefix: str):
    """A kafkaesk Application with Order registered as schema Order:1."""
    app = kafkaesk.Application(kafka_servers=brokers.split(","), topic_prefix=prefix)

    @app.schema("Order", version=1)
    class Order(BaseModel):
        id: int
        customer: str
        lines: List[Line]
        note: Optional[str] = None

    return app, Order
