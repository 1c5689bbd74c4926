"""An experiment's report: per-phase figures from the request log, charts, and summary.md."""

import json
import math
import os
import platform
import time
from pathlib import Path

import cost
import matplotlib
import thresholds
from thresholds import FINAL, pct

from api import client

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ms(value) -> str:
    return "–" if value is None else f"{value:.0f}"


def error_class(status) -> str:
    if status == 429:
        return "429"
    if isinstance(status, int) and status >= 500:
        return "5xx"
    if isinstance(status, int) and status >= 400:
        return "4xx"
    return "ok"


# The saga's business outcomes that are not a success: no stock, the card refused.
REJECTIONS = {"REJECTED", "PAYMENT_FAILED"}


def phase_figures(requests: list, phase: dict, orders: dict) -> dict:
    """A phase's requests are those sent during it; its business rejections are the orders it
    placed that the saga ended as REJECTED or PAYMENT_FAILED."""
    inside = [r for r in requests
              if r["route"] != FINAL and phase["start"] <= r["t"] - r["ms"] < phase["end"]]
    latencies = [r["ms"] for r in inside]
    seconds = max((phase["end"] - phase["start"]) / 1000, 1e-9)
    errors = {"429": 0, "5xx": 0, "4xx": 0}
    for r in inside:
        kind = error_class(r["status"])
        if kind != "ok":
            errors[kind] += 1
    ok = sum(1 for r in inside if error_class(r["status"]) == "ok")
    placed = {r["orderId"] for r in inside if r.get("orderId")}
    errors["rejected"] = sum(1 for i in placed if orders.get(i, {}).get("status") in REJECTIONS)
    return {"phase": phase["phase"], "run": phase["run"], "seconds": seconds, "requests": len(inside),
            "throughput": ok / seconds, "p50": pct(latencies, 50), "p95": pct(latencies, 95),
            "p99": pct(latencies, 99), "errors": errors}


def by_route(requests: list, phases: list) -> list:
    """Per phase and route: requests, 2xx per second, percentiles and the error rate."""
    lines = ["| phase | route | requests | ok/s | p50 ms | p95 ms | p99 ms | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for phase in phases:
        inside = [r for r in requests
                  if r["route"] != FINAL and phase["start"] <= r["t"] - r["ms"] < phase["end"]]
        seconds = max((phase["end"] - phase["start"]) / 1000, 1e-9)
        for route in sorted({r["route"] for r in inside}):
            rows = [r for r in inside if r["route"] == route]
            latencies = [r["ms"] for r in rows]
            bad = sum(1 for r in rows if error_class(r["status"]) != "ok")
            lines.append(f"| {phase['phase']} | {route} | {len(rows)} | {(len(rows) - bad) / seconds:.1f} | "
                         f"{ms(pct(latencies, 50))} | {ms(pct(latencies, 95))} | {ms(pct(latencies, 99))} | "
                         f"{100 * bad / len(rows):.1f} % |")
    return lines


def windows(requests: list, start: int, end: int, width_s: int):
    """Per window of `width_s` seconds: started requests (arrivals), completed 2xx, latencies."""
    count = max(1, math.ceil((end - start) / 1000 / width_s))
    rows = [{"t": i * width_s, "arrivals": 0, "ok": 0, "latencies": []} for i in range(count)]
    for r in requests:
        if r["route"] == FINAL:
            continue
        sent = r["t"] - r["ms"]
        i = int((sent - start) / 1000 // width_s)
        if 0 <= i < count:
            rows[i]["arrivals"] += 1
            rows[i]["latencies"].append(r["ms"])
            rows[i]["ok"] += error_class(r["status"]) == "ok"
    return rows


def metric_series(stack: str, start: int, end: int, period: int):
    """The order queue's depth and the running checkout executions, from CloudWatch (moto offline)."""
    cloudwatch = client("cloudwatch")
    sqs = client("sqs")
    urls = sqs.list_queues(QueueNamePrefix=stack).get("QueueUrls", [])
    queue = next((u.rsplit("/", 1)[1] for u in urls if "OrderQueue" in u and "Dlq" not in u), None)
    if not queue:
        return [], []
    answer = cloudwatch.get_metric_data(
        StartTime=start / 1000 - period, EndTime=end / 1000 + period,
        MetricDataQueries=[{"Id": "depth", "MetricStat": {"Metric": {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": queue}]}, "Period": period, "Stat": "Maximum"}}])
    series = answer["MetricDataResults"][0]
    points = sorted(zip(series["Timestamps"], series["Values"], strict=True))
    return [(t.timestamp() * 1000 - start) / 1000 for t, _ in points], [v for _, v in points]


def backlog(orders: dict, start: int, end: int):
    """Accepted orders not yet final, each second."""
    seconds = list(range(0, max(1, math.ceil((end - start) / 1000)) + 1))
    open_at = []
    for s in seconds:
        at = start + s * 1000
        open_at.append(sum(1 for o in orders.values()
                           if o["created_at"] <= at and (o["final_at"] is None or o["final_at"] > at)))
    return seconds, open_at


def shade_phases(axis, phases: list, start: int):
    for p in phases:
        x0, x1 = (p["start"] - start) / 1000, (p["end"] - start) / 1000
        axis.axvline(x0, color="grey", linestyle=":", linewidth=0.8)
        axis.text(x0, 1.0, f" {p['phase']}", transform=axis.get_xaxis_transform(),
                  fontsize=8, va="top", color="dimgrey")
        axis.axvline(x1, color="grey", linestyle=":", linewidth=0.8)


def finish(fig, axis, phases: list, start: int, path: Path, title: str, ylabel: str) -> str:
    """A chart over the run's time: the phases marked, titled, labelled, saved."""
    shade_phases(axis, phases, start)
    axis.set(title=title, xlabel="time since start (s)", ylabel=ylabel)
    axis.legend()
    return save(fig, path)


def charts(out: Path, title: str, requests: list, orders: dict, runs: list, stack: str, levels: list):
    start = min(r["start"] for r in runs)
    end = max(max(r["end"] for r in runs), max((o["final_at"] or 0) for o in orders.values()) if orders else 0)
    load_end = max(r["end"] for r in runs)
    phases = [p for r in runs for p in r["phases"]]
    width = max(1, round((load_end - start) / 1000 / 60))
    rows = windows(requests, start, load_end, width)
    made = []

    fig, axis = plt.subplots(figsize=(9, 4.5))
    xs = [w["t"] for w in rows]
    for rank, style in ((50, "-"), (95, "--"), (99, ":")):
        axis.plot(xs, [pct(w["latencies"], rank) for w in rows], style, label=f"p{rank}")
    made.append(finish(fig, axis, phases, start, out / "latency.png",
                       title=f"{title}: latency percentiles per {width} s", ylabel="latency (ms)"))

    fig, axis = plt.subplots(figsize=(6, 5))
    arrivals = [w["arrivals"] / width for w in rows]
    axis.scatter(arrivals, [w["ok"] / width for w in rows], s=14)
    top = max(arrivals + [1])
    axis.plot([0, top], [0, top], color="grey", linewidth=0.8, label="throughput = arrivals")
    axis.set(title=f"{title}: throughput against arrival rate ({width} s windows)",
             xlabel="arrivals (requests/s)", ylabel="completed 2xx (requests/s)")
    axis.legend()
    made.append(save(fig, out / "throughput.png"))

    if orders:
        fig, axis = plt.subplots(figsize=(9, 4.5))
        seconds, open_orders = backlog(orders, start, end)
        axis.plot(seconds, open_orders, label="saga backlog (accepted, not final)")
        # SQS publishes its metrics once a minute in AWS; offline the runtime records them each second.
        offline = bool(os.environ.get("AWS_ENDPOINT_URL"))
        period = (1 if end - start < 600_000 else 5) if offline else 60
        times, depth = metric_series(stack, start, end, period)
        if times:
            axis.plot(times, depth, label="OrderQueue depth (CloudWatch, max)")
        made.append(finish(fig, axis, phases, start, out / "backlog.png",
                           title=f"{title}: queue depth and saga backlog", ylabel="orders / messages"))

    fig, axis = plt.subplots(figsize=(6, 5))
    if levels:
        users = [level["users"] for level in levels]
        axis.plot(users, [level["throughput"] for level in levels], "o-", label="throughput")
        axis.set(xlabel="concurrent virtual users", ylabel="completed 2xx (requests/s)")
        right = axis.twinx()
        right.plot(users, [level["p99"] for level in levels], "s--", color="tab:red", label="p99")
        right.set_ylabel("p99 latency (ms)")
        axis.set_xscale("log")
        axis.legend(loc="upper left")
        right.legend(loc="lower right")
    else:
        inflight = [(w["ok"] / width) * ((sum(w["latencies"]) / len(w["latencies"])) / 1000 if w["latencies"] else 0)
                    for w in rows]
        axis.scatter(inflight, [w["ok"] / width for w in rows], s=14)
        axis.set(xlabel="requests in flight (throughput × mean latency)", ylabel="completed 2xx (requests/s)")
    axis.set_title(f"{title}: concurrency and throughput")
    made.append(save(fig, out / "saturation.png"))
    return made


def save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    return f"{os.cpu_count()} cores, {model}"


def end_to_end(orders: dict) -> list:
    return [o["final_at"] - o["created_at"] for o in orders.values() if o["final_at"]]


def variants(requests: list, orders: dict, runs: list) -> list:
    """Sync vs async, per phase: what the client waited, placed → final in the table, orders per
    second (accepted for async, answered final for the clients that waited), and the calls in
    flight: by Little's law, the POSTs' summed latency over the phase's length, which is what a
    waiting call costs in Lambda concurrency (and, times the memory, in GB-seconds)."""
    lines = ["| phase | client waits p50 / p95 / p99 ms | placed → final p50 / p95 / p99 ms | orders/s | "
             "POST /orders in flight (mean) | waits past 20 s |", "|---|---|---|---|---|---|"]
    for phase in (p for run in runs for p in run["phases"]):
        start, end = phase["start"], phase["end"]
        seconds = (end - start) / 1000
        # A final line's wait began when its order was placed, so both are matched by when they began.
        sent = [r for r in requests if start <= r["t"] - r["ms"] < end]
        finals = [r for r in sent if r["route"] == FINAL]
        answered = [r["ms"] for r in finals if r["status"] != "TIMEOUT"]
        posts = [r["ms"] for r in sent if r["route"] == "POST /orders"]
        waits, done = (answered, len(answered)) if finals else (posts, len(posts))
        e2e = [o["final_at"] - o["created_at"] for o in orders.values()
               if o["final_at"] and start <= o["created_at"] < end]
        timeouts = sum(r["status"] == "TIMEOUT" for r in finals)
        lines.append(f"| {phase['phase']} | {ms(pct(waits, 50))} / {ms(pct(waits, 95))} / {ms(pct(waits, 99))} | "
                     f"{ms(pct(e2e, 50))} / {ms(pct(e2e, 95))} / {ms(pct(e2e, 99))} | {done / seconds:.1f} | "
                     f"{sum(posts) / 1000 / seconds:.1f} | {timeouts} |")
    return lines


def write(out: Path, experiment: str, runs: list, requests: list, orders: dict, check: dict,
          drain_seconds: float, stack: str, smoke: bool, target: str, cpu: dict, priced=None,
          checks=()) -> str:
    phases = [p for r in runs for p in r["phases"]]
    figures = [phase_figures(requests, p, orders) for p in phases]
    levels = [{**f, "users": p["users"]} for f, p in zip(figures, phases, strict=True) if p["users"]]
    made = charts(out, experiment, requests, orders, runs, stack, levels)
    recovery = thresholds.recovery_seconds(requests, phases)
    lines = [f"# Experiment: {experiment}{' (smoke)' if smoke else ''}", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(runs[0]['start'] / 1000))}",
             f"- command: `artillery/run {experiment}{' --smoke' if smoke else ''}`",
             f"- target: {target}", f"- machine: {machine()}",
             "- CPU used during the load (cores, by process): "
             + ", ".join(f"{name} {cores:.2f}" for name, cores in cpu.items()), "",
             "| run | phase | s | requests | ok/s | p50 ms | p95 ms | p99 ms | shed (429) | 5xx | 4xx | rejected by the saga |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in figures:
        e = f["errors"]
        lines.append(f"| {f['run']} | {f['phase']} | {f['seconds']:.0f} | {f['requests']} | {f['throughput']:.1f} | "
                     f"{ms(f['p50'])} | {ms(f['p95'])} | {ms(f['p99'])} | {e['429']} | {e['5xx']} | {e['4xx']} | {e['rejected']} |")
    lines += [""] + by_route(requests, phases) + [""]
    if levels:
        best = max(levels, key=lambda level: level["throughput"])
        saturated = next((level for level in levels if level["throughput"] >= 0.9 * best["throughput"]), best)
        lines.append(f"Saturation: {saturated['throughput']:.0f} requests/s from {saturated['users']} users on "
                     f"(peak {best['throughput']:.0f}/s at {best['users']}); more users only add latency.")
    if any(r["route"] == FINAL for r in requests):
        lines += variants(requests, orders, runs) + [""]
    if orders:
        e2e = end_to_end(orders)
        lines += [f"End to end in the table (placed → final): p50 {ms(pct(e2e, 50))} ms, p95 {ms(pct(e2e, 95))} ms, "
                  f"p99 {ms(pct(e2e, 99))} ms.",
                  f"Orders: {check['accepted']} accepted; final statuses {json.dumps(check['statuses'])}.",
                  f"Time to drain after the load: {drain_seconds:.1f} s."]
    if recovery is not None or any(p["phase"] == "peak" for p in phases):
        lines.append(f"Recovery after the peak: {ms(recovery)} s until the 5 s p99 is back within "
                     f"{thresholds.RECOVERY_FACTOR} × the base phase's + {thresholds.RECOVERY_PLUS_MS} ms.")
    if checks:
        lines += [""] + thresholds.markdown(checks, smoke)
    lines += ["", "## Invariants (read from the table)", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in check["checks"].items()]
    lines.append(f"- stock: {json.dumps(check['stock'])}")
    if check.get("failed_users"):
        lines.append(f"- failed virtual users and errors: {json.dumps(check['failed_users'])}")
    for key in ("lost", "not_final", "unannounced"):
        if check[key]:
            lines.append(f"- {key}: {', '.join(check[key])}")
    if priced:
        lines += [""] + cost.markdown(priced)
    lines += ["", "## Charts", ""] + [f"![{name}]({name})" for name in made]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    (out / "figures.json").write_text(json.dumps({"phases": figures, "recovery_s": recovery,
                                                  "drain_s": drain_seconds, "check": check, "cpu": cpu,
                                                  "cost": priced, "thresholds": thresholds.as_json(checks)},
                                                 indent=2))
    return "\n".join(lines[: lines.index("## Invariants (read from the table)")])
