"""How many checkout sagas a second the offline stack completes, in every CPU layout.

A burst of orders is placed faster than the sagas can finish them (`cartwheel-load`, open model,
one generator per customer, each customer ordering a product of its own so that no two sagas
contend for one stock item), then every order is waited for until it is final. Each order's
history in the table says when it was placed and when it became final, so the rate is read from
the table, not from polling:
  sagas/s    the orders final between the 10th and the 90th percentile of the final times,
             divided by the time between the two (the rate while a backlog remained)
  drain      the last final time less the load's end
The CPU each process of the stack (runtime, DynamoDB Local, moto) spent from the load's start to
the last final order, per saga, comes from /proc. The whole pipeline runs: the stream, the pipe,
the hand-off queue, the starter, the state machine's steps, and every consumer of the order's
events (e-mail, live updates, analytics, audit), as they run in `scripts/start`.
Exits 1 when fewer than 150 sagas/s complete in a layout. Run it through scripts/bench-sagas.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from bench_load import layouts, median, stack_arguments, stack_of
from bench_paths import ORDER_BODY, call, login

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "artillery" / "lib"))
import invariants  # noqa: E402 (the experiments' reading of orders from the table)

MUST_SAGAS_PER_S = 150  # issue 24


def customers_with_products(api, count, products):
    """`count` new customers, each with a product of its own stocked for any burst."""
    admin = login(api, os.environ["ADMIN_EMAIL"], os.environ["ADMIN_PASSWORD"])
    found = []
    for n in range(count):
        email = f"saga-{time.time_ns()}-{n}@bench.local"
        call(api, "POST", "/users", {"email": email, "password": "bench-customer-password", "name": "Bench"})
        token = login(api, email, "bench-customer-password")
        me = call(api, "GET", "/users/me", token=token)
        product = products[n % len(products)]
        current = call(api, "GET", f"/products/{product}")
        call(api, "PUT", f"/products/{product}/stock", {"quantity": 1_000_000_000, "version": current["version"]},
             token=admin)
        found.append({"token": token, "userId": me["id"], "product": product})
    return found


def burst(stack, load_binary, api, customers, rate, seconds):
    """Every customer's generator at once, each at its share of `rate`; answers their results."""
    pin = ["taskset", "-c", stack.layout.rest] if stack.layout else []
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for n, customer in enumerate(customers):
            body = Path(scratch) / f"body-{n}.json"
            body.write_text(json.dumps(ORDER_BODY(customer["product"])))
            runs.append(subprocess.Popen(
                [*pin, load_binary, f"{api}/orders", "--rate", f"{rate / len(customers):.2f}",
                 "--seconds", str(seconds), "--method", "POST", "--connections", "32",
                 "--header", f"authorization: Bearer {customer['token']}",
                 "--header", "content-type: application/json",
                 "--header", f"idempotency-key: saga-{n}-{time.time_ns()}-{{{{n}}}}",
                 "--body-file", str(body)], stdout=subprocess.PIPE, text=True))
        outputs = [run.communicate()[0] for run in runs]
    return [json.loads(next(line for line in out.splitlines() if line.startswith("LOAD_JSON "))[10:])
            for out in outputs]


def one_layout(args, stack, layout, products):
    stack.pin(layout)
    dynamodb = boto3.client("dynamodb", endpoint_url=args.dynamodb,
                            region_name=os.environ.get("AWS_REGION", "us-east-1"))
    customers = customers_with_products(args.api, args.customers, products)
    print(f"==> {layout.name}: {args.rate:g} orders/s for {args.seconds} s from {len(customers)} customers",
          file=sys.stderr)
    before = stack.cpu_seconds()
    load_start = time.time()
    loads = burst(stack, args.load, args.api, customers, args.rate, args.seconds)
    load_end = time.time()
    ids = sorted(set().union(*(invariants.orders_of(dynamodb, args.table, c["userId"]) for c in customers)))
    orders = invariants.wait_until_final(dynamodb, args.table, ids, args.timeout)
    after = stack.cpu_seconds()
    row = measured(loads, orders, load_start, load_end, before, after)
    settled_after, settled = settle(stack, args.timeout)
    row["settled_s"] = settled_after - load_end
    row["cpu_ms_per_order_all_work"] = {role: 1000 * (settled[role] - before[role]) / max(row["final"], 1)
                                        for role in settled if role != "wrk"}
    return row


def settle(stack, timeout, idle_cores=0.15, window=3.0):
    """When the stack went quiet: the event consumers (e-mail, live updates, analytics, audit)
    trail the sagas, so the work an order causes ends after its saga does. Quiet is a window of
    `window` seconds in which the stack's processes used under `idle_cores` of CPU (their idle
    polling uses about a tenth of a core). Answers that time and the CPU spent until then."""
    started = time.monotonic()
    last = stack.cpu_seconds()
    while time.monotonic() - started < timeout:
        time.sleep(window)
        now = stack.cpu_seconds()
        busy = sum(now[r] - last[r] for r in now if r != "wrk") / window
        if busy < idle_cores:
            return time.time() - window, last
        last = now
        print(f"  the event consumers still busy: {busy:.2f} cores", file=sys.stderr)
    return time.time(), last


def measured(loads, orders, load_start, load_end, before, after):
    finals = sorted(o["final_at"] / 1000 for o in orders.values() if o.get("final_at"))
    accepted = sum(run["ok"] for run in loads)
    row = {"accepted": accepted, "non2xx": sum(run["non2xx"] for run in loads),
           "timed_out_or_failed": sum(run["errors"] for run in loads),
           "final": len(finals), "orders": len(orders),
           "statuses": {s: sum(o["status"] == s for o in orders.values())
                        for s in {o["status"] for o in orders.values()}},
           "load_s": load_end - load_start, "intake_per_s": accepted / (load_end - load_start)}
    if len(finals) >= 10:
        low, high = finals[len(finals) // 10], finals[(len(finals) * 9) // 10]
        row["sagas_per_s"] = (len(finals) * 8 // 10) / max(high - low, 1e-3)
        row["overall_per_s"] = len(finals) / max(finals[-1] - load_start, 1e-3)
        row["drain_s"] = finals[-1] - load_end
        latencies = sorted(o["final_at"] - o["created_at"] for o in orders.values() if o.get("final_at"))
        row["placed_to_final_ms"] = {"p50": latencies[len(latencies) // 2],
                                     "p99": latencies[(len(latencies) * 99) // 100], "max": latencies[-1]}
    row["cpu_ms_per_saga"] = {role: 1000 * (after[role] - before[role]) / max(len(finals), 1)
                              for role in after if role != "wrk"}
    return row


def report(rows):
    print("\n| layout | accepted | final | intake/s | sagas/s (p10–p90) | overall/s | drain s | "
          "placed→final p50 / p99 ms | CPU ms per saga until the last final | events settled s | "
          "CPU ms per order until settled |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    cpu = lambda c: f"{c['runtime']:.2f} / {c['dynamodb']:.2f} / {c['moto']:.2f}"  # noqa: E731
    for layout, r in rows.items():
        latency = r.get("placed_to_final_ms", {})
        print(f"| {layout} | {r['accepted']} | {r['final']} | {r['intake_per_s']:.0f} | "
              f"{r.get('sagas_per_s', 0):.0f} | {r.get('overall_per_s', 0):.0f} | {r.get('drain_s', 0):.1f} | "
              f"{latency.get('p50', 0):.0f} / {latency.get('p99', 0):.0f} | {cpu(r['cpu_ms_per_saga'])} | "
              f"{r['settled_s']:.0f} | {cpu(r['cpu_ms_per_order_all_work'])} |")
    print("\nCPU: runtime / DynamoDB Local / moto. Requests answered outside 2xx, and requests without an "
          "answer in 10 s: " + ", ".join(f"{layout}: {r['non2xx']}, {r['timed_out_or_failed']}"
                                         for layout, r in rows.items()))


def main():
    parser = stack_arguments(__doc__.splitlines()[0])
    parser.add_argument("--load", required=True, help="the cartwheel-load binary")
    parser.add_argument("--rate", type=float, default=200, help="orders a second, all customers together")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load")
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--timeout", type=int, default=300, help="seconds to wait for every order to be final")
    parser.add_argument("--layout", choices=("all", "every", "split"), default="all")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    stack = stack_of(args)
    products = [p["id"] for p in call(args.api, "GET", f"/products?limit={args.customers}")["items"]]
    chosen = layouts(os.cpu_count() or 1)
    if args.layout != "all":
        chosen = [layout for layout in chosen if layout.name.startswith(args.layout)]
    rows = {layout.name: one_layout(args, stack, layout, products) for layout in chosen}
    report(rows)
    checks = [(f"{layout}: sagas/s >= {MUST_SAGAS_PER_S}", round(r.get("sagas_per_s", 0)),
               r.get("sagas_per_s", 0) >= MUST_SAGAS_PER_S and r["final"] == r["orders"])
              for layout, r in rows.items()]
    print("\n| must hold | measured | held? |\n|---|---|---|")
    for what, value, held in checks:
        print(f"| {what} | {value} | {'yes' if held else '**no**'} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows, "must_holds": checks,
                                              "median_sagas_per_s": median([r.get("sagas_per_s", 0)
                                                                            for r in rows.values()])},
                                             indent=2))
    return 0 if all(held for _, _, held in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
