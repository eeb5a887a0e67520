"""A kafkaesk application that publishes Order:1 events, for pgk subscribe.

Usage: publish_orders.py BROKERS TOPIC_PREFIX STREAM

Publishes two events through a pydantic model (app.publish) and one through
raw_publish, all to the same stream; prints nothing on success.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from orders_app import Line, application  # noqa: E402

brokers, prefix, stream = sys.argv[1], sys.argv[2], sys.argv[3]
app, Order = application(brokers, prefix)


async def main() -> None:
    async with app:
        first = await app.publish(stream, Order(id=1, customer="ann", lines=[Line(sku="A", qty=2)]), key=b"ann")
        second = await app.publish(stream, Order(id=2, customer="bob", lines=[]), key=b"bob")
        third = await app.raw_publish(stream, b'{"schema": "Order:1", "data": {"id": 3, "customer": "cy", "lines": []}}')
        for future in (first, second, third):
            await future


asyncio.run(main())
