"""The restart drill (scripts/restart-drill): a burst of orders against the offline stack with
DynamoDB Local on disk, the whole stack killed (SIGKILL: the runtime, DynamoDB Local and moto at
once) in the middle of it, and the stack started again on the same data. Every request the kill
cut off is sent again with its Idempotency-Key, as a client would. Then the experiments' own
invariants (artillery/lib/invariants.py), read from the table: every accepted order terminal,
none lost, none duplicated, no oversell; and here also one order per key, and every confirmed
order charged once and captured."""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "artillery" / "lib"))
import invariants  # noqa: E402

from api import PASSWORD, Api  # noqa: E402

ADDRESS = {"name": "Drill", "line1": "1 Restart Road", "city": "Lisbon", "postalCode": "1000-001",
           "country": "PT"}


class Stack:
    """scripts/start on its own ports and data directory, in a process group of its own so that
    one SIGKILL takes every process of it down at once, as a power cut would."""

    def __init__(self, data: Path, log: Path, port: int, env: dict):
        self.data, self.log, self.port, self.env = data, log, port, env
        self.process = None

    def start(self, timeout_s: float = 600):
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "start"), "--data-dir", str(self.data), "--debug"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        api = Api(f"http://127.0.0.1:{self.port}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"scripts/start exited ({self.process.returncode}); see {self.log}")
            try:
                api.call("GET", "/health")
                return api
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        raise SystemExit(f"the stack did not answer within {timeout_s:.0f} s; see {self.log}")

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        # Its children die a moment later, and only then free their ports.
        for _ in range(300):
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise SystemExit("the stack's processes outlived SIGKILL by 30 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)


def place(api: Api, token: str, product: str, key: str, going_down: bool = False):
    """The order's id, or None when the request got no answer (the stack was down or went down).
    While the stack is `going_down`, a 5xx counts as no answer too: the runtime can outlive
    DynamoDB Local by a moment, and a client retries a 5xx as it retries a refused connection."""
    body = {"items": [{"productId": product, "quantity": 1}], "shippingAddress": ADDRESS,
            "paymentToken": "tok_visa"}
    try:
        answer = api.call("POST", "/orders", body, token=token, headers={"Idempotency-Key": key})
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    except SystemExit as error:  # Api.call's answer to an HTTP error status
        if going_down and ": 5" in str(error):
            return None
        raise
    return answer["orderId"]


def burst(api: Api, requests: list, product: str, args, stack: Stack, dynamodb, table: str) -> dict:
    """Sends the (customer, key) requests at `args.rate` a second from 16 threads, and kills the
    stack once `args.kill_after` orders are accepted and sagas are under way (some accepted order
    is RESERVED or PAID), with the rest of the burst still to come. Answers each key's order id, or
    None where the request got no answer."""
    answers, lock, killed = {}, threading.Lock(), threading.Event()
    began = time.monotonic()

    def one(numbered):
        n, (customer, key) = numbered
        time.sleep(max(0.0, began + n / args.rate - time.monotonic()))
        order = None if killed.is_set() else place(api, customer["token"], product, key, True)
        with lock:
            answers[key] = order

    def killer():
        while len(answers) < len(requests):
            with lock:
                accepted = [o for o in answers.values() if o]
            if len(accepted) >= args.kill_after:
                now = invariants.read_orders(dynamodb, table, accepted)
                if any(o["status"] in ("RESERVED", "PAID") for o in now.values()):
                    print(f"  {len(accepted)} orders accepted, {statuses(now)}: killing the stack "
                          "(SIGKILL) mid-burst, mid-saga", file=sys.stderr)
                    killed.set()
                    stack.kill()
                    return
            time.sleep(0.05)

    watcher = threading.Thread(target=killer)
    watcher.start()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, enumerate(requests)))
    watcher.join()
    if not killed.is_set():
        raise SystemExit("the burst ended before any saga was under way: nothing was killed "
                         "(raise --orders or lower --rate)")
    return answers


def statuses(orders: dict) -> dict:
    counts = {}
    for order in orders.values():
        counts[order["status"]] = counts.get(order["status"], 0) + 1
    return counts


def paid_once(api: Api, admin: str, orders: dict) -> list:
    """The confirmed orders whose payment is not one captured authorization."""
    wrong = []
    for order_id, order in orders.items():
        if order["status"] != "CONFIRMED":
            continue
        payment = api.call("GET", f"/orders/{order_id}", token=admin).get("payment") or {}
        if payment.get("state") != "CAPTURED":
            wrong.append(order_id)
    return wrong


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20, help="orders a second")
    parser.add_argument("--stock", type=int, default=30)
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--kill-after", type=int, default=40)
    parser.add_argument("--timeout", type=int, default=300, help="seconds for every order to end")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    env = dict(os.environ)
    stack = Stack(args.work / "dynamodb", args.work / "stack.log", args.port, env)
    try:
        print(f"starting the stack (DynamoDB Local on disk in {stack.data})", file=sys.stderr)
        api = stack.start()
        admin = api.login(env["ADMIN_EMAIL"], env["ADMIN_PASSWORD"])
        product = api.create_product(admin, f"DRILL-{uuid.uuid4().hex[:8]}", args.stock)
        run = uuid.uuid4().hex[:8]
        customers = []
        for n in range(args.customers):
            email = f"drill-{run}-{n}@example.com"
            customers.append({**api.sign_up(email), "email": email})
        requests = [(customers[n % len(customers)], f"drill-{run}-{n}") for n in range(args.orders)]

        print(f"burst: {args.orders} orders at {args.rate:.0f}/s for {args.stock} units from "
              f"{len(customers)} customers",
              file=sys.stderr)
        dynamodb = Api.dynamodb()
        table = env["TABLE_NAME"]
        answers = burst(api, requests, product["id"], args, stack, dynamodb, table)
        cut_off = [r for r in requests if not answers[r[1]]]
        print(f"  {len(requests) - len(cut_off)} accepted before the kill, {len(cut_off)} cut off",
              file=sys.stderr)

        print("starting the stack again on the same data", file=sys.stderr)
        api = stack.start()
        before = [o for o in answers.values() if o]
        left = invariants.read_orders(dynamodb, table, before)
        print(f"  the table kept {len(left)} of the {len(before)} accepted orders, as "
              f"{statuses(left)}", file=sys.stderr)
        if len(left) != len(before):
            raise SystemExit("the restart lost accepted orders")
        restarted = time.monotonic()
        # moto is new: the signing key is too, so everyone signs in again.
        admin = api.login(env["ADMIN_EMAIL"], env["ADMIN_PASSWORD"])
        for customer in customers:
            customer["token"] = api.login(customer["email"], PASSWORD)
        for customer, key in cut_off:
            answers[key] = place(api, customer["token"], product["id"], key)
        unanswered = [key for key, order in answers.items() if not order]

        accepted = sorted(set(o for o in answers.values() if o))
        orders = invariants.wait_until_final(dynamodb, table, accepted, args.timeout)
        print(f"  every order ended {time.monotonic() - restarted:.0f} s after the restart: "
              f"{statuses(orders)}", file=sys.stderr)
        result = invariants.check(dynamodb, table, product, args.stock, customers, accepted, orders)
        result["checks"]["every request answered once the stack was back"] = not unanswered
        result["checks"]["one order per Idempotency-Key"] = len(accepted) == len(requests)
        wrong = paid_once(api, admin, orders)
        result["checks"]["every CONFIRMED order's payment is CAPTURED"] = not wrong
        result["ok"] = all(result["checks"].values())
        result["cutOff"] = len(cut_off)
        print(json.dumps(result, indent=2))
        sys.exit(0 if result["ok"] else 1)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
