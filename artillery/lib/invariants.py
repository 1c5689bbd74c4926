"""What every experiment must leave true, read from the table itself, not from the API's answers:
every accepted order reaches a terminal status, none is lost, none appears that the client was not
told of (a duplicate), and the product's stock is what it started at less the units that
confirmed orders hold, and never below zero (no oversell)."""

import sys
import time
from datetime import datetime

import keys

TERMINAL = {"CONFIRMED", "SHIPPED", "REJECTED", "PAYMENT_FAILED", "CANCELLED"}
# Statuses whose units are taken from stock: reserved and not (yet) released.
HOLDING = {"RESERVED", "PAID", "CONFIRMED", "SHIPPED"}


def millis(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)


def summary(item: dict) -> dict:
    """An order item as the checks need it."""
    history = item.get("history", {}).get("L", [])
    changes = [(c["M"]["status"]["S"], millis(c["M"]["at"]["S"])) for c in history]
    status = item["status"]["S"]
    final_at = next((at for s, at in reversed(changes) if s == status), None) if status in TERMINAL else None
    lines = item.get("lines", {}).get("L", [])
    return {
        "status": status,
        "created_at": millis(item["createdAt"]["S"]),
        "final_at": final_at,
        "units": {line["M"]["productId"]["S"]: int(line["M"]["quantity"]["N"]) for line in lines},
    }


def read_orders(dynamodb, table: str, ids: list) -> dict:
    """The orders with these ids; an id that names no stored order is missing from the answer."""
    found = {}
    for start in range(0, len(ids), 100):
        request = {table: {"Keys": [keys.order_key(i) for i in ids[start:start + 100]], "ConsistentRead": True}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(table, []):
                found[item["id"]["S"]] = summary(item)
            request = answer.get("UnprocessedKeys") or None
    return found


def wait_until_final(dynamodb, table: str, ids: list, timeout_s: int) -> dict:
    """The accepted orders once all are terminal, or as they are when `timeout_s` has passed."""
    started = time.monotonic()
    last_line = 0.0
    orders: dict = {}
    open_orders = list(ids)
    while True:
        # Only the orders not yet final are read again: reading them all each second took a
        # core from the stack draining them.
        orders.update(read_orders(dynamodb, table, open_orders))
        open_orders = [i for i in open_orders if orders.get(i, {}).get("status") not in TERMINAL]
        waited = time.monotonic() - started
        if not open_orders or waited > timeout_s:
            return orders
        if waited - last_line >= 5:
            print(f"  {len(ids) - len(open_orders)} of {len(ids)} accepted orders final "
                  f"after {waited:.0f} s", file=sys.stderr)
            last_line = waited
        time.sleep(1)


def orders_of(dynamodb, table: str, user_id: str) -> set:
    ids, start = set(), None
    while True:
        page = dynamodb.query(
            TableName=table, IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": keys.text("orders_of", user=user_id)},
                                       ":prefix": {"S": keys.prefix("order_sort_key")}},
            **({"ExclusiveStartKey": start} if start else {}))
        ids.update(item["id"]["S"] for item in page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return ids


def check(dynamodb, table: str, product: dict, initial_stock: int, customers: list,
          accepted: list, orders: dict) -> dict:
    in_table = set()
    for customer in customers:
        in_table |= orders_of(dynamodb, table, customer["userId"])
    lost = sorted(set(accepted) - set(orders))
    unannounced = sorted(in_table - set(accepted))
    not_final = sorted(i for i, o in orders.items() if o["status"] not in TERMINAL)
    item = dynamodb.get_item(TableName=table, ConsistentRead=True,
                             Key=keys.key("product", product=product["id"]))["Item"]
    stock = int(item["stock"]["N"])
    held = sum(o["units"].get(product["id"], 0) for o in orders.values() if o["status"] in HOLDING)
    statuses = {}
    for o in orders.values():
        statuses[o["status"]] = statuses.get(o["status"], 0) + 1
    checks = {
        "every accepted order is in the table (none lost)": not lost,
        "every accepted order is terminal": not not_final,
        "no order the client was not told of (no duplicate)": not unannounced,
        "stock never below zero": stock >= 0,
        "stock = initial - units held by orders (no oversell)": stock == initial_stock - held,
    }
    return {
        "ok": all(checks.values()),
        "checks": checks,
        "accepted": len(accepted),
        "statuses": statuses,
        "lost": lost[:10],
        "not_final": not_final[:10],
        "unannounced": unannounced[:10],
        "stock": {"initial": initial_stock, "now": stock, "held": held},
    }
