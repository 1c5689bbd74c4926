"""Runs one of Cartwheel's burst-traffic experiments and writes its report folder.

Each experiment seeds its own customers and product over the API, runs Artillery (scenarios in
artillery/scenarios), waits until every accepted order is final, checks the invariants from the
table (no oversell, every accepted order terminal, none lost or duplicated), checks the
experiment's thresholds (thresholds.py), reads the run's metrics, and writes the raw Artillery JSON,
the request log, charts and summary.md. The exit status is 1 when an invariant or a threshold fails;
on a smoke run, the performance thresholds are shown but do not fail it. Run it through
artillery/run, which starts the offline stack.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import cost  # noqa: E402
import invariants  # noqa: E402
import report  # noqa: E402
import thresholds  # noqa: E402

from api import Api  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
ARTILLERY = HERE / "node_modules" / ".bin" / "artillery"


@dataclass
class Phase:
    name: str
    seconds: int
    rate: float = 0.0  # arrivals per second (open model)
    users: int = 0  # virtual users arriving at once (closed model, baseline)

    def artillery(self):
        if self.users:
            return {"name": self.name, "duration": 1, "arrivalCount": self.users}
        return {"name": self.name, "duration": self.seconds, "arrivalRate": self.rate}


@dataclass
class Run:
    """One Artillery run: a scenario and its phases."""
    label: str
    scenario: str
    script: str
    phases: list
    run_seconds: int = 0  # how long each baseline user loops
    customers: slice = field(default_factory=lambda: slice(None))  # which of the experiment's customers its users are


@dataclass
class Experiment:
    name: str
    runs: list
    customers: int
    stock: int = 1_000_000_000
    checks_orders: bool = True
    notes: list = field(default_factory=list)


def experiments(smoke: bool):
    """The four experiments, full or as a smoke run of a few seconds at tiny rates."""
    if smoke:
        levels, level_seconds = [2, 4], 2
        sync_rates, sync_seconds = [2], 3
        base, peak, base_s, peak_s, after_s = 2, 6, 2, 3, 3
        sale_orders, sale_seconds, sale_stock = 12, 2, 5
    else:
        levels, level_seconds = [10, 50, 100, 500], 30
        # From the README's 5/s to past what the sagas complete offline (docs/sagas-offline.md).
        sync_rates, sync_seconds = [5, 20, 40, 60], 30
        base, peak, base_s, peak_s, after_s = 5, 75, 60, 120, 120
        sale_orders, sale_seconds, sale_stock = 600, 10, 100
    # One customer of its own sends 80 orders in 4 s, more than twice what the order limit that
    # artillery/run sets (15 per 5 s) lets through in the two windows 4 s can touch: the limit must
    # shed with 429. It runs first, so that the burst's drain is still measured after its peak.
    over_limit = Run("over the limit", "accepted-order", "orders.yml",
                     [Phase("over the limit", 4, rate=20)], customers=slice(-1, None))
    burst_customers = 50 if not smoke else 3
    return {
        "baseline": Experiment("baseline", [
            Run(f"{n} users", "reads", "reads.yml", [Phase(f"{n} users", level_seconds, users=n)],
                run_seconds=level_seconds) for n in levels
        ], customers=max(levels) if not smoke else 4, checks_orders=False),
        "sync-vs-async": Experiment("sync-vs-async", [
            Run(variant, scenario, "orders.yml",
                [Phase(f"{variant} {rate}/s", sync_seconds, rate=rate) for rate in sync_rates])
            for variant, scenario in (("async", "accepted-order"), ("sync", "waited-order"))
        ], customers=20 if not smoke else 3),
        "burst": Experiment("burst", [
            over_limit,
            Run("burst", "accepted-order", "orders.yml", [
                Phase("base", base_s, rate=base),
                Phase("peak", peak_s, rate=peak),
                Phase("after", after_s, rate=base),
            ], customers=slice(0, burst_customers)),
        ], customers=burst_customers + 1),
        "flash-sale": Experiment("flash-sale", [
            Run("flash sale", "accepted-order", "orders.yml",
                [Phase("sale", sale_seconds, rate=sale_orders / sale_seconds)]),
        ], customers=200 if not smoke else 6, stock=sale_stock),
    }


def run_artillery(run: Run, target: str, out: Path, env: dict, customers: list) -> dict:
    """Runs one scenario; answers the phases' wall-clock bounds in epoch milliseconds."""
    overrides = {"config": {"phases": [p.artillery() for p in run.phases]}}
    raw = out / f"artillery-{run.label.replace(' ', '-')}.json"
    users = out / f"customers-{run.label.replace(' ', '-')}.json"
    users.write_text(json.dumps(customers[run.customers]))
    env = {**env, "CUSTOMERS": str(users)}
    started = int(time.time() * 1000)
    subprocess.run(
        [str(ARTILLERY), "run", "--quiet", "--target", target, "--scenario-name", run.scenario,
         "--overrides", json.dumps(overrides), "--output", str(raw), str(HERE / "scenarios" / run.script)],
        env={**env, "RUN_SECONDS": str(run.run_seconds), "ARTILLERY_DISABLE_TELEMETRY": "true"},
        check=True, stdout=subprocess.DEVNULL)
    ended = int(time.time() * 1000)
    # Artillery takes a few seconds to start; its first metric marks the first phase's start.
    started = json.loads(raw.read_text())["aggregate"].get("firstMetricAt", started)
    bounds, at = [], started
    for phase in run.phases:
        length = (run.run_seconds if phase.users else phase.seconds) * 1000
        bounds.append({"run": run.label, "phase": phase.name, "start": at, "end": at + length,
                       "rate": phase.rate, "users": phase.users})
        at += length
    return {"label": run.label, "raw": raw.name, "start": started, "end": ended, "phases": bounds}


# The processes whose CPU the report shows, by a part of their command line.
PROCESSES = {"DynamoDB Local": "DynamoDBLocal", "moto": "moto_server", "cartwheel-local": "cartwheel-local"}


def cpu_seconds() -> dict:
    """CPU seconds each of the stack's processes has used so far (offline; nothing for AWS)."""
    totals = dict.fromkeys(PROCESSES, 0.0)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for name, needle in PROCESSES.items():
            if needle in command:
                totals[name] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                break
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals["Artillery"] = children.ru_utime + children.ru_stime
    return totals


def dashboard(stack: str, start_ms: int, out: Path):
    """The run as the stack's own dashboard shows it: scripts/metrics, a PNG per widget."""
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_ms / 1000 - 10))
    command = [str(HERE.parent / "scripts" / "metrics"), "--stack", stack, "--start", start,
               "--period", "5", "--out", str(out / "dashboard")]
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    command += ["--endpoint", endpoint] if endpoint else ["--aws"]
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)


def load_checks(out: Path, runs: list, check: dict) -> dict:
    """Adds what the load itself must show: no virtual user failed (a refused connection, a
    timeout, a capture that found nothing). What the answers must show (no 5xx, 2xx in every
    phase) is in thresholds.py."""
    failed = {}
    for run in runs:
        counters = json.loads((out / run["raw"]).read_text())["aggregate"].get("counters", {})
        failed.update({f"{run['label']}: {k}": v for k, v in counters.items()
                       if (k == "vusers.failed" or k.startswith("errors.")) and v})
    checks = {**check["checks"], "no virtual user failed": not failed}
    return {**check, "checks": checks, "ok": all(checks.values()), "failed_users": failed}


def order_limit():
    """The per-customer order limit the stack applies: artillery/run sets it offline; against a
    deployed stack, ORDER_LIMIT_PER_CUSTOMER tells it, else the template's default (30/60)."""
    return thresholds.parse_limit(os.environ.get("ORDER_LIMIT_PER_CUSTOMER", "30/60"))


def seed(api: Api, experiment: Experiment, run_id: str):
    """The experiment's customers (signed up and logged in) and its own product."""
    admin = api.login(os.environ["ADMIN_EMAIL"], os.environ["ADMIN_PASSWORD"])
    product = api.create_product(admin, sku=f"EXP-{run_id}", stock=experiment.stock)
    customers = []
    for n in range(experiment.customers):
        email = f"{experiment.name}-{run_id}-{n}@experiments.local"
        customers.append({"email": email, **api.sign_up(email)})
        if (n + 1) % 50 == 0:
            print(f"  {n + 1} of {experiment.customers} customers signed up", file=sys.stderr)
    return product, customers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=["baseline", "sync-vs-async", "burst", "flash-sale"])
    parser.add_argument("--target", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--smoke", action="store_true", help="a few seconds at tiny rates (CI)")
    parser.add_argument("--table", required=True, help="the stack's table, read for the invariants")
    parser.add_argument("--stack", required=True, help="the stack's name, for its metrics")
    parser.add_argument("--drain-timeout", type=int, default=900)
    args = parser.parse_args()

    experiment = experiments(args.smoke)[args.experiment]
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    run_id = time.strftime("%Y%m%d%H%M%S")
    api = Api(args.target)
    print(f"==> {experiment.name}: seeding {experiment.customers} customers and a product", file=sys.stderr)
    product, customers = seed(api, experiment, run_id)
    (out / "customers.json").write_text(json.dumps(customers))
    log = out / "requests.jsonl"
    log.write_text("")
    env = {**os.environ, "REQUEST_LOG": str(log), "PRODUCT_ID": product["id"]}
    runs = []
    cpu_before, wall_started = cpu_seconds(), time.monotonic()
    for n, run in enumerate(experiment.runs):
        if n and run.script == "orders.yml":
            # Each variant starts on an idle stack: the last one's sagas are drained first.
            placed = sorted({r["orderId"] for r in report.read_log(log) if r.get("orderId")})
            invariants.wait_until_final(api.dynamodb(), args.table, placed, args.drain_timeout)
        print(f"==> {experiment.name}: {run.label} ({', '.join(p.name for p in run.phases)})", file=sys.stderr)
        runs.append(run_artillery(run, args.target, out, env, customers))
    wall = time.monotonic() - wall_started
    cpu = {name: (used - cpu_before[name]) / wall for name, used in cpu_seconds().items()
           if used > cpu_before[name]}

    requests = report.read_log(log)
    accepted = sorted({r["orderId"] for r in requests if r.get("orderId")})
    final = invariants.wait_until_final(api.dynamodb(), args.table, accepted, args.drain_timeout)
    check = invariants.check(api.dynamodb(), args.table, product, experiment.stock, customers, accepted, final)
    check = load_checks(out, runs, check)
    answers = [r for r in requests if r["route"] != report.FINAL]
    # Every 202 names an order of its own: two requests told of one order would hide one lost.
    told = [r["orderId"] for r in answers if r.get("orderId")]
    check["checks"]["every accepted request got an order of its own"] = len(told) == len(set(told))
    check["ok"] = all(check["checks"].values())
    # The load ends with its last phase; clients that wait (sync) keep polling after it.
    load_end = runs[-1]["phases"][-1]["end"]
    drained_at = max((o["final_at"] for o in final.values() if o.get("final_at")), default=load_end)
    # The cost window ends when the last order has ended and the publisher has published its
    # events, which trails the orders (by minutes offline after a burst).
    priced = None
    if accepted:
        settled_at = max(drained_at, cost.events_settled(args.stack, runs[0]["start"]))
        priced = cost.model(args.stack, args.table, runs[0]["start"], settled_at, len(answers), len(accepted))
        priced["events_settled_after_drain_s"] = round((settled_at - drained_at) / 1000)
    checks = thresholds.evaluate(experiment.name, {
        "phases": [p for r in runs for p in r["phases"]], "requests": requests, "orders": final,
        "product_id": product["id"], "stock": experiment.stock, "order_limit": order_limit()})
    result = report.write(out, experiment=experiment.name, runs=runs, requests=requests, orders=final,
                          check=check, drain_seconds=max(0, drained_at - load_end) / 1000,
                          stack=args.stack, smoke=args.smoke, target=args.target, cpu=cpu, priced=priced,
                          checks=checks)
    if not args.smoke:
        print("==> the run on the stack's dashboard (scripts/metrics)", file=sys.stderr)
        dashboard(args.stack, runs[0]["start"], out)
    print(result, file=sys.stderr)
    print(f"==> report: {out}/summary.md", file=sys.stderr)
    failed = thresholds.decisive_failures(checks, args.smoke)
    for c in failed:
        print(f"FAIL: {c.name}: {c.measured}, bound {c.bound}", file=sys.stderr)
    sys.exit(0 if check["ok"] and not failed else 1)


if __name__ == "__main__":
    main()
