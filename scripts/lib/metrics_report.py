"""Draws a stack's CloudWatch dashboard from GetMetricData: one PNG per metric widget and a markdown
summary. The dashboard is read with GetDashboard, so the offline stack (which puts template.yaml's
dashboard into moto, resolved as CloudFormation resolves it) and a deployed stack are reviewed by
the same code through the same API. Run it through scripts/metrics, which installs matplotlib."""

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

MAX_QUERIES = 500  # GetMetricData's limit per call
OFFLINE_PERIOD = 10  # seconds: a burst lasts a minute or two; the offline metrics are per second

# A widget without a y-axis label gets one from its metric: what CloudWatch would show as the unit.
UNITS = [
    (re.compile(r"Latency|Duration|ExecutionTime|IteratorAge"), "ms"),
    (re.compile(r"AgeOfOldestMessage"), "seconds"),
    (re.compile(r"CapacityUnits"), "capacity units"),
    (re.compile(r"NumberOfMessages"), "messages"),
]


@dataclass
class Series:
    query_id: str
    label: str
    query: dict[str, Any]
    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    error: str | None = None


@dataclass
class Widget:
    title: str
    period: int
    y_label: str
    series: list[Series]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default=os.environ.get("TABLE_NAME", "cartwheel-local"))
    parser.add_argument("--aws", action="store_true", help="a deployed stack: your credentials, no endpoint")
    parser.add_argument("--endpoint", help="CloudWatch endpoint (default: the offline stack's moto)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--since", default="15m", help="window ending now: 90s, 15m, 2h")
    parser.add_argument("--start", help="window start (ISO 8601, UTC); overrides --since")
    parser.add_argument("--end", help="window end (ISO 8601, UTC; default now)")
    parser.add_argument("--period", type=int, help=f"seconds per point (offline default {OFFLINE_PERIOD}; AWS: each widget's)")
    parser.add_argument("--out", default="metrics-report", help="directory for the PNGs and summary.md")
    parser.add_argument("--json", action="store_true", help="also print every series as JSON on stdout")
    args = parser.parse_args()
    if args.aws and args.endpoint:
        parser.error("--aws reads AWS itself; --endpoint is for an emulator")
    return args


def client(args: argparse.Namespace) -> Any:
    if args.aws:
        return boto3.client("cloudwatch", region_name=args.region)
    endpoint = args.endpoint or f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}"
    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint,
        region_name=args.region or "us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "offline"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "offline"),
    )


def window(args: argparse.Namespace) -> tuple[datetime, datetime]:
    end = parse_time(args.end) if args.end else datetime.now(UTC)
    if args.start:
        return parse_time(args.start), end
    match = re.fullmatch(r"(\d+)([smh])", args.since)
    if not match:
        sys.exit(f"--since {args.since!r}: say 90s, 15m or 2h")
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    return end - timedelta(seconds=seconds), end


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dashboard(cloudwatch: Any, name: str) -> dict[str, Any]:
    try:
        body = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
    except cloudwatch.exceptions.ResourceNotFound:
        sys.exit(
            f"no dashboard {name!r} at {cloudwatch.meta.endpoint_url}. Offline: is scripts/start running "
            "(and TABLE_NAME/--stack the same)? In AWS: pass --aws --stack <the stack name> and its --region."
        )
    return json.loads(body)


def rows_of(metrics: list[list[Any]]) -> list[tuple[list[str], dict[str, Any]]]:
    """Each metric row's fields, with CloudWatch's "." (the previous row's field) expanded, and its
    rendering options."""
    rows, previous = [], []
    for row in metrics:
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        fields = [f for f in row if isinstance(f, str)]
        fields = [previous[i] if f == "." and i < len(previous) else f for i, f in enumerate(fields)]
        previous = fields
        rows.append((fields, options))
    return rows


def y_label(properties: dict[str, Any], rows: list[tuple[list[str], dict[str, Any]]]) -> str:
    label = properties.get("yAxis", {}).get("left", {}).get("label")
    if label:
        return label
    names = [fields[1] for fields, _ in rows if len(fields) > 1]
    for pattern, unit in UNITS:
        if names and all(pattern.search(name) for name in names):
            return unit
    return "count"


def widget_of(properties: dict[str, Any], period: int | None) -> Widget:
    rows = rows_of(properties.get("metrics", []))
    default_stat = properties.get("stat", "Average")
    widget_period = period or int(properties.get("period", 300))
    series = []
    for index, (fields, options) in enumerate(rows):
        query_id = options.get("id") or f"m{index}"
        if "expression" in options:
            query = {"Id": query_id, "Expression": options["expression"], "Period": widget_period}
            series.append(Series(query_id, options.get("label", query_id), query))
            continue
        namespace, name, *pairs = fields
        dimensions = [{"Name": n, "Value": v} for n, v in zip(pairs[::2], pairs[1::2], strict=True)]
        stat = options.get("stat", default_stat)
        label = options.get("label") or f"{name} {stat} ({', '.join(pairs[1::2])})"
        metric = {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions}
        query = {
            "Id": query_id,
            "MetricStat": {"Metric": metric, "Period": period or int(options.get("period", widget_period)), "Stat": stat},
            "ReturnData": options.get("visible", True),
        }
        series.append(Series(query_id, label, query))
    title = f"{properties.get('title', 'untitled')} (per {widget_period} s)"
    return Widget(title, widget_period, y_label(properties, rows), series)


def fetch(cloudwatch: Any, widget: Widget, start: datetime, end: datetime) -> None:
    by_id = {s.query_id: s for s in widget.series}
    queries = [s.query for s in widget.series]
    for first in range(0, len(queries), MAX_QUERIES):
        request = {"MetricDataQueries": queries[first : first + MAX_QUERIES], "StartTime": start,
                   "EndTime": end, "ScanBy": "TimestampAscending"}
        try:
            while True:
                answer = cloudwatch.get_metric_data(**request)
                for result in answer["MetricDataResults"]:
                    series = by_id[result["Id"]]
                    series.timestamps += result.get("Timestamps", [])
                    series.values += result.get("Values", [])
                if not answer.get("NextToken"):
                    break
                request["NextToken"] = answer["NextToken"]
        except Exception as error:  # one widget's failure is reported, not fatal
            for series in widget.series:
                series.error = str(error)
    for series in widget.series:
        points = sorted(zip(series.timestamps, series.values, strict=True))
        series.timestamps, series.values = [t for t, _ in points], [v for _, v in points]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


# Twenty colours times four dash patterns: a widget of every function keeps its lines apart.
STYLES = [(colour, dash) for dash in ("-", "--", ":", "-.") for colour in plt.get_cmap("tab20").colors]
LEGEND_MAX = 12


def draw(widget: Widget, path: Path, start: datetime, end: datetime) -> None:
    figure, axes = plt.subplots(figsize=(10, 4), dpi=100)
    shown = [s for s in widget.series if s.query.get("ReturnData", True)]
    lines = []
    for index, series in enumerate(shown):
        colour, dash = STYLES[index % len(STYLES)]
        (line,) = axes.plot(series.timestamps, series.values, color=colour, linestyle=dash,
                            marker=".", markersize=3, linewidth=1.4)
        lines.append((line, series))
    axes.set_title(widget.title, loc="left", fontsize=11)
    axes.set_xlabel("time (UTC)")
    axes.set_ylabel(widget.y_label)
    axes.set_xlim(start, end)
    axes.set_ylim(bottom=0)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=UTC))
    axes.grid(True, alpha=0.3)
    legend(axes, lines)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def legend(axes: Any, lines: list[tuple[Any, Series]]) -> None:
    """Every series when they fit; otherwise the ones with the highest peaks, and how many have data.
    A series with no data is named as such, never silently dropped."""
    placement = {"fontsize": 8, "loc": "upper left", "bbox_to_anchor": (1.01, 1), "borderaxespad": 0}
    if len(lines) <= LEGEND_MAX:
        labels = [s.label if s.values else f"{s.label} (no data)" for _, s in lines]
        axes.legend([line for line, _ in lines], labels, **placement)
        return
    with_data = sorted((pair for pair in lines if pair[1].values), key=lambda p: -max(p[1].values))
    top = with_data[:LEGEND_MAX]
    title = f"{len(with_data)} of {len(lines)} with data" + (f"; top {len(top)} by peak" if len(with_data) > len(top) else "")
    axes.legend([line for line, _ in top], [s.label for _, s in top], title=title, title_fontsize=8, **placement)


def number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def summary(widgets: list[tuple[Widget, str]], args: argparse.Namespace, source: str, start: datetime, end: datetime) -> str:
    lines = [
        f"# Metrics review: {args.stack}",
        "",
        f"- source: {source}",
        f"- window: {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S} UTC",
        f"- generated: {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
        "",
    ]
    for widget, png in widgets:
        lines += [f"## {widget.title}", "", f"![{widget.title}]({png})", "",
                  f"| series | points | min | max | last | total ({widget.y_label}) |", "|---|---|---|---|---|---|"]
        for s in widget.series:
            if s.error:
                lines.append(f"| {s.label} | error: {s.error} | | | | |")
            elif s.values:
                # A total means something only for counts (Sum, SampleCount), not for gauges or percentiles.
                stat = s.query.get("MetricStat", {}).get("Stat", "")
                total = number(sum(s.values)) if stat in ("Sum", "SampleCount") else ""
                lines.append(f"| {s.label} | {len(s.values)} | {number(min(s.values))} | {number(max(s.values))} | "
                             f"{number(s.values[-1])} | {total} |")
            elif len(widget.series) <= LEGEND_MAX:
                lines.append(f"| {s.label} | 0 | | | | |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    args = arguments()
    cloudwatch = client(args)
    region = cloudwatch.meta.region_name
    start, end = window(args)
    name = f"{args.stack}-{region}"
    period = args.period or (None if args.aws else OFFLINE_PERIOD)
    body = dashboard(cloudwatch, name)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metric_widgets = [w["properties"] for w in body.get("widgets", []) if w.get("type") == "metric"]
    drawn = []
    for number_, properties in enumerate(metric_widgets, start=1):
        widget = widget_of(properties, period)
        print(f"[{number_}/{len(metric_widgets)}] {widget.title}: {len(widget.series)} series", file=sys.stderr)
        fetch(cloudwatch, widget, start, end)
        png = f"{number_:02d}-{slug(properties.get('title', 'widget'))}.png"
        draw(widget, out / png, start, end)
        drawn.append((widget, png))
    source = "AWS" if args.aws else cloudwatch.meta.endpoint_url
    (out / "summary.md").write_text(summary(drawn, args, f"{source}, dashboard {name}", start, end))
    print(f"wrote {len(drawn)} charts and {out / 'summary.md'}", file=sys.stderr)
    if args.json:
        print(json.dumps({w.title: {s.label: {"timestamps": [t.isoformat() for t in s.timestamps], "values": s.values}
                                    for s in w.series} for w, _ in drawn}))


if __name__ == "__main__":
    main()
