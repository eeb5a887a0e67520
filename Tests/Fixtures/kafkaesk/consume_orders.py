"""A kafkaesk application that consumes Order:1 events from one stream.

Usage: consume_orders.py BROKERS TOPIC_PREFIX STREAM COUNT TIMEOUT_SECONDS

Subscribes with a pydantic model, so kafkaesk itself parses each envelope
and the `data` into the model. Prints one JSON line per message it handed
to the handler: schema, key, headers and the model's fields. Exits 2 when
fewer than COUNT messages arrived in time.
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from orders_app import application  # noqa: E402

brokers, prefix, stream, count, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
app, Order = application(brokers, prefix)


received = []


@app.subscribe(stream, group="kafkaesk-interop")
async def on_order(data: Order, schema: str, record) -> None:
    received.append({
        "schema": schema,
        "key": record.key.decode() if record.key is not None else None,
        "headers": {k: v.decode() for k, v in (record.headers or [])},
        "data": data.model_dump() if hasattr(data, "model_dump") else data.dict(),
    })


async def main() -> int:
    async with app:
        consumed = await app.consume_for(count, seconds=timeout)
    for message in received:
        print(json.dumps(message, sort_keys=True))
    if consumed < count or len(received) < count:
        print(f"kafkaesk received {len(received)} of {count} message(s)", file=sys.stderr)
        return 2
    return 0


sys.exit(asyncio.run(main()))
