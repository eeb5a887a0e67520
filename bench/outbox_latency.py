#!/usr/bin/env python3
"""Commit-to-Kafka latency of `pgk cdc outbox run`.

A generator commits one INSERT per transaction at a fixed rate (libpq via
ctypes, so no Python driver is needed) and notes when each COMMIT returned;
a consumer notes when each event arrives. Latency = arrival - commit, both
on this machine's clock. Prints one JSON line with percentiles.
"""
import argparse
import ctypes
import ctypes.util
import json
import threading
import time

from confluent_kafka import Consumer, TopicPartition, OFFSET_END

parser = argparse.ArgumentParser()
parser.add_argument("--database", required=True)
parser.add_argument("--brokers", required=True)
parser.add_argument("--topic", required=True)
parser.add_argument("--table", required=True)
parser.add_argument("--rate", type=int, default=1000)
parser.add_argument("--seconds", type=float, default=20)
args = parser.parse_args()

pq = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
pq.PQconnectdb.restype = ctypes.c_void_p
pq.PQconnectdb.argtypes = [ctypes.c_char_p]
pq.PQstatus.argtypes = [ctypes.c_void_p]
pq.PQexec.restype = ctypes.c_void_p
pq.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
pq.PQresultStatus.argtypes = [ctypes.c_void_p]
pq.PQresultErrorMessage.restype = ctypes.c_char_p
pq.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
pq.PQclear.argtypes = [ctypes.c_void_p]
pq.PQfinish.argtypes = [ctypes.c_void_p]
PGRES_COMMAND_OK = 1

conn = pq.PQconnectdb(args.database.encode())
if pq.PQstatus(conn) != 0:
    raise SystemExit("cannot connect to " + args.database)

consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": "latency-bench",
                     "enable.auto.commit": False, "fetch.wait.max.ms": 5})
metadata = consumer.list_topics(args.topic, timeout=10)
partitions = list(metadata.topics[args.topic].partitions)
consumer.assign([TopicPartition(args.topic, p, OFFSET_END) for p in partitions])

arrivals = {}
stop = threading.Event()


def consume():
    while not stop.is_set():
        message = consumer.poll(0.05)
        if message is None or message.error():
            continue
        now = time.time()
        key = message.key()
        if key is not None:
            arrivals[int(key)] = now


reader = threading.Thread(target=consume)
reader.start()
time.sleep(2)  # let the assignment settle before generating

total = int(args.rate * args.seconds)
commits = {}
interval = 1.0 / args.rate
start = time.time()
for i in range(1, total + 1):
    due = start + (i - 1) * interval
    pause = due - time.time()
    if pause > 0:
        time.sleep(pause)
    sql = "INSERT INTO %s (id) VALUES (%d)" % (args.table, i)
    result = pq.PQexec(conn, sql.encode())
    if pq.PQresultStatus(result) != PGRES_COMMAND_OK:
        raise SystemExit("insert failed: " + pq.PQresultErrorMessage(result).decode())
    pq.PQclear(result)
    commits[i] = time.time()
generated_for = time.time() - start

deadline = time.time() + 15
while len(arrivals) < total and time.time() < deadline:
    time.sleep(0.1)
stop.set()
reader.join()
consumer.close()
pq.PQfinish(conn)

latencies = sorted((arrivals[i] - commits[i]) * 1000 for i in commits if i in arrivals)


def percentile(p):
    if not latencies:
        return None
    return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1)


print(json.dumps({"events": total, "arrived": len(latencies), "missing": total - len(latencies),
                  "achieved_rate": round(total / generated_for),
                  "p50_ms": percentile(50), "p90_ms": percentile(90), "p99_ms": percentile(99),
                  "max_ms": round(latencies[-1], 1) if latencies else None}))
