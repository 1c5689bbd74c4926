"""What the stack costs each month whatever its traffic, counted from template.yaml and the code,
and the template's facts that the per-order model (cost.py) reads too.

Fixed each month: the custom metric series the functions can emit (CloudWatch bills each name and
set of dimensions), the alarms' metrics (a metric-math alarm is billed per metric it reads), the
dashboard, the signing-key secret, and the ReceiveMessage calls Lambda's pollers make on every
queue it maps to a function, empty or not. The last is modelled: AWS documents the pollers but not
their wait.
"""

import re
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# Every invocation goes through `cartwheel_telemetry::invocation` (functions/src/plumbing/function.rs),
# which emits `HandlerLatency`, and `ColdStart` on a cold start: two series per function.
PER_INVOCATION_METRICS = ("HandlerLatency", "ColdStart")
# The business metrics and the one function each comes from (`count`/`fact` in functions/src:
# handlers/orders.rs, saga.rs, handoff.rs, publish.rs, consumers/sales.rs). The consumers'
# `EventsConsumed` and `EventsDuplicate` (consume.rs) are added per rule-queue consumer.
BUSINESS_METRICS = {
    "PlaceOrderFunction": ("OrdersPlaced",),
    "ReserveStockFunction": ("ReservationConflicts",),
    "AuthorizePaymentFunction": ("PaymentsAuthorized", "PaymentsDeclined"),
    "StartCheckoutFunction": ("SagasStarted",),
    "SweepPendingOrdersFunction": ("OrdersRequeued",),
    "PublishEventsFunction": ("EventsPublished", "EventsFailed", "UnreadableRecords"),
    "SalesAnalyticsFunction": ("OrdersAccepted", "OrdersRejected", "SagasCompleted",
                               "SagasCompensated", "CheckoutDuration"),
}
CONSUMER_METRICS = ("EventsConsumed", "EventsDuplicate")
# Lambda's SQS pollers: "When traffic is low, Lambda scales back the processing to five concurrent
# batches, and can optimize to as few as 2 ... this optimization is not available when you enable
# the maximum concurrency setting" (Lambda developer guide, "Configuring scaling behavior for SQS
# event source mappings"); every mapping here sets MaximumConcurrency, so five. Each is taken to
# long-poll for SQS's maximum 20 s wait (SQS developer guide, "Setting-up long polling"): Lambda
# does not document its wait, so this is the fewest requests an idle queue can cost.
IDLE_POLLERS, LONG_POLL_S = 5, 20
MONTH_S = 30 * 24 * 3600


def resources(text: str | None = None) -> dict:
    """Each resource of the template's `Resources` section: logical id -> (type, its text)."""
    text = text if text is not None else TEMPLATE.read_text()
    section = re.search(r"^Resources:\n(.*?)(?=^[A-Za-z]+:|\Z)", text, re.S | re.M).group(1)
    found = {}
    for block in re.split(r"\n(?=  [A-Za-z0-9]+:\s*\n)", "\n" + section):
        head = re.match(r"\s*([A-Za-z0-9]+):\s*\n", block)
        kind = re.search(r"^    Type: (\S+)", block, re.M)
        if head and kind:
            found[head.group(1)] = (kind.group(1), block)
    return found


def of_type(found: dict, kind: str) -> dict:
    return {name: block for name, (k, block) in found.items() if k == kind}


def polled_queues(found: dict) -> dict:
    """Each SQS queue an event source mapping polls -> the function it feeds."""
    queues = of_type(found, "AWS::SQS::Queue")
    polled = {}
    for block in of_type(found, "AWS::Lambda::EventSourceMapping").values():
        source = re.search(r"EventSourceArn: !GetAtt (\w+)\.Arn", block)
        function = re.search(r"FunctionName: !Ref (\w+)", block)
        if source and function and source.group(1) in queues:
            polled[source.group(1)] = function.group(1)
    return polled


def rule_queue_consumers(found: dict | None = None) -> dict:
    """Each queue a bus rule targets (not its dead-letter queue) -> the function that consumes it."""
    found = found or resources()
    # A target's `Arn` sits at the target's indent; its DeadLetterConfig's is deeper.
    targets = {m for block in of_type(found, "AWS::Events::Rule").values()
               for m in re.findall(r"^          Arn: !GetAtt (\w+)\.Arn", block, re.M)}
    return {queue: function for queue, function in polled_queues(found).items() if queue in targets}


def secret_readers(found: dict | None = None) -> list:
    """The functions whose environment names a Secrets Manager secret (they read it at cold start,
    `TokenService` in functions/src/plumbing/deps.rs)."""
    found = found or resources()
    secrets = of_type(found, "AWS::SecretsManager::Secret")
    return sorted(name for name, block in of_type(found, "AWS::Serverless::Function").items()
                  if any(re.search(rf"!Ref {s}\b", block) for s in secrets))


def metric_series(found: dict) -> int:
    """The custom metric series the code can emit: one per metric and function (the EMF documents
    carry the one dimension set [service, function], shared/telemetry/src/emf.rs)."""
    functions = len(of_type(found, "AWS::Serverless::Function"))
    business = sum(len(names) for names in BUSINESS_METRICS.values())
    consumers = len(rule_queue_consumers(found)) * len(CONSUMER_METRICS)
    return functions * len(PER_INVOCATION_METRICS) + business + consumers


def alarm_metrics(found: dict) -> tuple:
    """(standard, high-resolution) alarm metrics: a metric-math alarm counts each metric it reads,
    and a period under 60 s makes the alarm high resolution."""
    standard = high = 0
    for block in of_type(found, "AWS::CloudWatch::Alarm").values():
        reads = block.count("MetricStat:") or 1
        if any(int(p) < 60 for p in re.findall(r"^\s+Period: (\d+)", block, re.M)):
            high += reads
        else:
            standard += reads
    return standard, high


def seen_series(cloudwatch) -> int:
    """The custom metric series this run's functions emitted, for comparison with the code's."""
    names, token = set(), None
    while True:
        page = cloudwatch.list_metrics(Namespace="Cartwheel", **({"NextToken": token} if token else {}))
        names.update((m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
                     for m in page["Metrics"])
        token = page.get("NextToken")
        if not token:
            return len(names)


def fixed_lines(found: dict, prices: dict) -> dict:
    """Each fixed monthly item: (count, USD a month, how it was counted)."""
    series = metric_series(found)
    standard, high = alarm_metrics(found)
    dashboards = len(of_type(found, "AWS::CloudWatch::Dashboard"))
    secrets = len(of_type(found, "AWS::SecretsManager::Secret"))
    queues = len(polled_queues(found))
    polls = queues * IDLE_POLLERS * MONTH_S / LONG_POLL_S
    return {
        "CloudWatch custom metric series (code)": (series, series * prices["cloudwatch_per_metric_month"], "counted"),
        "CloudWatch alarm metrics, standard": (standard, standard * prices["cloudwatch_per_alarm_month"], "counted"),
        "CloudWatch alarm metrics, high resolution": (high, high * prices["cloudwatch_per_high_resolution_alarm_month"], "counted"),
        "CloudWatch dashboards": (dashboards, dashboards * prices["cloudwatch_per_dashboard_month"], "counted"),
        "Secrets Manager secrets": (secrets, secrets * prices["secrets_manager_per_secret_month"], "counted"),
        f"SQS idle polling, {queues} mapped queues": (polls, polls / 1e6 * prices["sqs_standard_per_million_requests"], "modelled"),
    }


def fixed_monthly(cloudwatch, prices: dict) -> dict:
    """The fixed monthly cost, from the template and the code; `seen_in_run` is what the run's
    functions emitted (a short run shows fewer series than a month of traffic would)."""
    found = resources()
    lines = fixed_lines(found, prices)
    return {"lines": {k: {"count": c, "usd": u, "how": h} for k, (c, u, h) in lines.items()},
            "usd": sum(u for _, u, _ in lines.values()),
            "custom_metrics_seen_in_run": seen_series(cloudwatch) if cloudwatch else None}


def markdown(monthly: dict) -> list:
    lines = ["", "### Fixed each month, whatever the traffic", "",
             "| item | count | how | USD a month |", "|---|---|---|---|"]
    for name, line in monthly["lines"].items():
        lines.append(f"| {name} | {line['count']:,.0f} | {line['how']} | {line['usd']:.2f} |")
    lines.append(f"| **total** | | | **{monthly['usd']:.2f}** |")
    if monthly.get("custom_metrics_seen_in_run") is not None:
        lines += ["", f"The run's functions emitted {monthly['custom_metrics_seen_in_run']} of the metric series; "
                  "each is billed for the hours it is emitted, so the code's count is what steady traffic costs."]
    return lines
