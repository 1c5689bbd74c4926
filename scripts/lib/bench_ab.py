"""Two builds of the local runtime on one stack, the same wrk runs alternating between them.

Both builds serve the same table in the same DynamoDB Local at once. Each round runs one wrk run
per build and path (A then B in even rounds, B then A in odd ones), and reads from /proc the CPU
each build, DynamoDB Local and moto spent per request answered 2xx. Alternating runs on one stack
share DynamoDB Local's drift, which between two fresh stacks moved one build's figure by ±15 %
(docs/benchmarks.md). Only the build whose run it is gets requests; the other idles. With
--floor, each round also runs the path's DynamoDB calls through the official SDK alone
(infra/local-runtime/examples/sdk_floor.rs), the floor under either build. Run it through
scripts/bench-ab.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench_load import Stack, median, sdk_floor, wrk
from bench_paths import ORDER_BODY, setup

PATHS = {"get": "GET /products/{id}", "orders": "POST /orders"}
SIDES = ("a", "b")
FLOOR = "floor"


def runs_of(args, fixtures):
    """Each path's run, as a function of (url, stack, seconds)."""
    order_headers = (f"authorization: Bearer {fixtures['token']}\ncontent-type: application/json\n"
                     "idempotency-key: ab-{{n}}")
    return {
        "get": lambda url, stack, s: wrk(stack, url, s, args.connections,
                                         path=f"/products/{fixtures['product']}"),
        # Every run's keys are new ("{{n}}" is the run's and the request's), so every order is.
        "orders": lambda url, stack, s: wrk(stack, url, s, args.connections, method="POST", path="/orders",
                                            headers=order_headers, body=ORDER_BODY(fixtures["product"]),
                                            run=f"ab{time.time_ns()}"),
    }


def floor(args, stack, fixtures, path):
    result = sdk_floor(stack, args.floor, path, args.seconds, fixtures["product"], fixtures["order"])
    return {"ok_per_s": result["ok_per_s"], "errors": 0, "runtime_ms": result["sdk_ms"],
            **{f"{role}_ms": ms for role, ms in result["cpu_ms_per_unit"].items()}}


def measure(args, stacks, fixtures):
    runs = runs_of(args, fixtures)
    sides = [*SIDES, FLOOR] if args.floor else list(SIDES)
    found = {path: {side: [] for side in sides} for path in args.only}
    for path in args.only:
        print(f"==> {path}: warming both builds for {args.warmup} s", file=sys.stderr)
        started = time.monotonic()
        while time.monotonic() - started < args.warmup:
            for side in SIDES:
                runs[path](args.url[side], stacks[side], 5)
        for i in range(args.rounds):
            for side in (SIDES if i % 2 == 0 else SIDES[::-1]):
                result = runs[path](args.url[side], stacks[side], args.seconds)
                row = {"ok_per_s": result["ok_per_s"], "errors": result["non2xx"] + result["socket_errors"],
                       **{f"{role}_ms": ms for role, ms in result["cpu_ms_per_unit"].items()}}
                found[path][side].append(row)
                print(f"    {PATHS[path]} | round {i + 1} | {side.upper()}: {row['ok_per_s']:.0f}/s, "
                      f"runtime {row['runtime_ms']:.3f} ms/request", file=sys.stderr)
            if args.floor:
                row = floor(args, stacks[FLOOR], fixtures, path)
                found[path][FLOOR].append(row)
                print(f"    {PATHS[path]} | round {i + 1} | the SDK alone: {row['ok_per_s']:.0f}/s, "
                      f"{row['runtime_ms']:.3f} ms/request", file=sys.stderr)
    return found


def report(found):
    """A table of each figure per round and build; with --floor, the SDK alone's beside them
    (its runtime_ms is its own process's CPU per request)."""
    with_floor = any(FLOOR in sides for sides in found.values())
    floor_head = (" the SDK alone, each round | median |", "---|---|") if with_floor else ("", "")
    print(f"\n| path | figure | A, each round | B, each round | median A → B |{floor_head[0]}\n"
          f"|---|---|---|---|---|{floor_head[1]}")
    for path, sides in found.items():
        for figure, digits in (("runtime_ms", 3), ("dynamodb_ms", 3), ("ok_per_s", 0)):
            a, b = ([row[figure] for row in sides[side]] for side in SIDES)
            change = (median(b) / median(a) - 1) * 100 if median(a) else 0.0
            floor_cells = ""
            if with_floor:
                f = [row[figure] for row in sides[FLOOR]]
                floor_cells = f" {', '.join(f'{v:.{digits}f}' for v in f)} | {median(f):.{digits}f} |"
            print(f"| {PATHS[path]} | {figure} | {', '.join(f'{v:.{digits}f}' for v in a)} | "
                  f"{', '.join(f'{v:.{digits}f}' for v in b)} | {median(a):.{digits}f} → "
                  f"{median(b):.{digits}f} ({change:+.1f} %) |{floor_cells}")
    errors = sum(row["errors"] for sides in found.values() for rows in sides.values() for row in rows)
    print(f"\nAnswers other than 2xx, and socket errors, in all runs: {errors}")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="build A's API")
    parser.add_argument("--b", required=True, help="build B's API")
    parser.add_argument("--dynamodb", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--pids", required=True, help="a=pid,b=pid,dynamodb=pid,moto=pid")
    parser.add_argument("--only", default="get,orders", help=f"the paths, of {','.join(PATHS)}")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=30, help="seconds of load per path before its rounds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--floor", help="the sdk_floor example's binary: run each path's calls through "
                        "the SDK alone in every round too")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    args.only = args.only.split(",")
    args.url = {"a": args.a, "b": args.b}
    pids = {role: int(pid) for role, pid in (p.split("=") for p in args.pids.split(","))}
    shared = {role: pids[role] for role in ("dynamodb", "moto")}
    stacks = {side: Stack({"runtime": pids[side], **shared}) for side in SIDES}
    stacks[FLOOR] = Stack(shared)
    # One set of fixtures serves both: the builds share the table, and a token signed by one
    # is good at the other (one signing key, in the stack's Secrets Manager).
    fixtures = setup(args.a, args.dynamodb, args.table, 1)
    found = measure(args, stacks, fixtures)
    errors = report(found)
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args),
                                              "found": found, "cpus": os.cpu_count()}, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
