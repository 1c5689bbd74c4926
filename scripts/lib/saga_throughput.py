"""Sagas completed per second, read from the table after a burst: every order's placement time and
the time its saga ended (the last status change of a terminal order). Waits until no order is
still in flight, printing progress. Usage: saga_throughput.py TABLE [TIMEOUT_SECONDS]"""
import os
import sys
import time
from datetime import datetime

import boto3

IN_FLIGHT = {"PENDING", "RESERVED", "PAID"}


def orders(table):
    client = boto3.client(
        "dynamodb",
        endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )
    pages = client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="SK = :order",
        ExpressionAttributeValues={":order": {"S": "ORDER"}},
        ProjectionExpression="#s, createdAt, history",
        ExpressionAttributeNames={"#s": "status"},
    )
    for page in pages:
        yield from page["Items"]


def when(text):
    return datetime.fromisoformat(text[:26].rstrip("Z") if "." in text else text.rstrip("Z"))


def main():
    table, timeout = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 300
    deadline = time.time() + timeout
    while True:
        found = list(orders(table))
        waiting = sum(1 for o in found if o["status"]["S"] in IN_FLIGHT)
        print(f"  sagas: {len(found) - waiting} of {len(found)} orders finished", flush=True)
        if waiting == 0 or time.time() > deadline:
            break
        time.sleep(2)
    done = [o for o in found if o["status"]["S"] not in IN_FLIGHT]
    if not done:
        print("no saga finished")
        return 1
    placed = [when(o["createdAt"]["S"]) for o in done]
    ended = [when(o["history"]["L"][-1]["M"]["at"]["S"]) for o in done]
    durations = sorted((e - p).total_seconds() for p, e in zip(placed, ended))
    span = (max(ended) - min(placed)).total_seconds()
    statuses = {}
    for o in done:
        statuses[o["status"]["S"]] = statuses.get(o["status"]["S"], 0) + 1
    pick = lambda q: durations[min(len(durations) - 1, int(q * len(durations)))]
    print(f"sagas finished: {len(done)} ({statuses}); {waiting} still in flight")
    print(f"sagas completed per second: {len(done) / span:.1f} (first order placed to last saga ended: {span:.1f} s)")
    print(f"saga duration (placed to final status): p50 {pick(0.5):.2f} s, p99 {pick(0.99):.2f} s")
    return 0 if waiting == 0 else 1


sys.exit(main())
