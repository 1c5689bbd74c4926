"""What a run would cost on AWS, per 1,000 orders, priced from artillery/prices.json; and what the
stack costs each month whatever its traffic (fixed_cost.py).

Counted from the run: API requests (the request log), Lambda invocations and duration per function
(`AWS/Lambda` metrics) at each function's memory in template.yaml, checkout executions (`AWS/States`)
with the state transitions and duration of a sample of their histories, the events published
(`EventsPublished`), the messages each order sends through the pipe and the order queue, the
e-mails sent (the notifications consumer's `EventsConsumed`: each applied event is one e-mail), and
the signing key's reads (`ColdStart` of the functions that read it).
Modelled, and said so in the report: SQS requests per message (send, then receive and delete per
batch; for the rule queues, from the consumers' events and invocations), CloudWatch Logs bytes per
invocation, X-Ray traces under the default sampling rule, and e-mails at two per order when the run
recorded none.
DynamoDB read and write units are the table's `AWS/DynamoDB` `ConsumedReadCapacityUnits` and
`ConsumedWriteCapacityUnits`, priced as on-demand request units: AWS publishes them per table, and
offline the runtime records what DynamoDB Local answers to `ReturnConsumedCapacity` on every call a
function makes (`infra/local-runtime/src/capacity.rs`). A refused conditional write still costs a
write unit; AWS's table metric counts it, but DynamoDB Local's refusal carries no capacity and the
runtime records only successful answers, so offline those units are modelled from the metrics that
count refusals (`ReservationConflicts`, `EventsDuplicate`).
"""

import json
import math
import os
import re
import sys
import time
from pathlib import Path

import fixed_cost

from api import client

PRICES = Path(__file__).resolve().parent.parent / "prices.json"
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# Logs per invocation: Lambda's START, END and REPORT lines, one EMF document and a log line or two.
LOG_BYTES_PER_INVOCATION = 1_500
# The HTTP API's access log, one JSON line per request.
ACCESS_LOG_BYTES = 300
# X-Ray's default sampling rule: the first request each second, then 5 % of the rest.
XRAY_RESERVOIR_PER_S, XRAY_RATE = 1, 0.05


def memory_by_function() -> dict:
    """Each function's MemorySize in MB (the Globals value unless it sets its own)."""
    text = TEMPLATE.read_text()
    default = int(re.search(r"^Globals:.*?^\s+MemorySize: (\d+)", text, re.S | re.M).group(1))
    memory = {}
    functions = fixed_cost.of_type(fixed_cost.resources(text), "AWS::Serverless::Function")
    for name, block in functions.items():
        own = re.search(r"^      MemorySize: (\d+)", block, re.M)
        memory[name] = int(own.group(1)) if own else default
    return memory


def metric_sums(cloudwatch, namespace: str, name: str, dimension: str, start: float, end: float,
                only: dict | None = None) -> dict:
    """The Sum of `name` over the window, per value of `dimension` (each metric is queried with its
    full set of dimensions, as CloudWatch matches them exactly), of the metrics whose dimensions
    include `only`'s."""
    listed = {tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
              for m in cloudwatch.list_metrics(Namespace=namespace, MetricName=name)["Metrics"]}
    # moto lists a metric once per data point; CloudWatch once.
    metrics = [{"Dimensions": [{"Name": n, "Value": v} for n, v in pairs]} for pairs in sorted(listed)
               if any(n == dimension for n, _ in pairs) and set((only or {}).items()) <= set(pairs)]
    # In AWS, Lambda's metrics come per function and again per version or alias: take the
    # per-function ones where they exist, so nothing counts twice.
    metrics = [m for m in metrics if len(m["Dimensions"]) == 1] or metrics
    if not metrics:
        return {}
    period = max(60, math.ceil((end - start) / 60) * 60)
    queries = [{"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name,
                "Dimensions": m["Dimensions"]}, "Period": period, "Stat": "Sum"}}
               for i, m in enumerate(metrics)]
    sums: dict = {}
    for first in range(0, len(queries), 500):
        answer = cloudwatch.get_metric_data(MetricDataQueries=queries[first:first + 500],
                                            StartTime=start, EndTime=end)
        for result in answer["MetricDataResults"]:
            dimensions = metrics[int(result["Id"][1:])]["Dimensions"]
            value = next(d["Value"] for d in dimensions if d["Name"] == dimension)
            sums[value] = sums.get(value, 0) + sum(result["Values"])
    return sums


def events_settled(stack: str, start_ms: int, quiet_s: float = 15, timeout_s: float = 1800) -> int:
    """When the stack's publisher caught up with the table's stream (ms): the last time
    `EventsPublished` rose before it stayed still for `quiet_s`. Orders end before their events are
    published (the publisher trails the stream, by minutes offline after a burst, where moto shares
    a CPU with DynamoDB Local), so a window that ends with the last order leaves those events out."""
    cloudwatch = client("cloudwatch")

    def published() -> float:
        return sum(metric_sums(cloudwatch, "Cartwheel", "EventsPublished", "function",
                               start_ms / 1000 - 5, time.time() + 5, only={"service": stack}).values())

    last, changed = published(), time.time()
    deadline = changed + timeout_s
    while time.time() - changed < quiet_s and time.time() < deadline:
        time.sleep(5)
        now = published()
        if now != last:
            last, changed = now, time.time()
            print(f"==> waiting for the event publisher: {int(last)} events published", file=sys.stderr)
    return int(changed * 1000)


def checkout_machine(stack: str):
    """The checkout state machine's ARN: offline its name starts with the stack's; a deployed one
    is the stack's resource `CheckoutStateMachine`."""
    sfn = client("stepfunctions")
    machine = next((m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                    if m["name"].startswith(stack) and "Checkout" in m["name"]), None)
    if machine or os.environ.get("AWS_ENDPOINT_URL"):
        return machine
    resource = client("cloudformation").describe_stack_resource(
        StackName=stack, LogicalResourceId="CheckoutStateMachine")
    return resource["StackResourceDetail"]["PhysicalResourceId"]


def execution_sample(machine, limit: int = 20):
    """Mean state transitions and mean duration (s) of the checkout saga's latest executions."""
    sfn = client("stepfunctions")
    if not machine:
        return None, None
    executions = sfn.list_executions(stateMachineArn=machine, maxResults=limit)["executions"]
    transitions, seconds = [], []
    for execution in executions:
        events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        transitions.append(sum(1 for e in events if e["type"].endswith("StateEntered")))
        seconds.append((events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds())
    if not transitions:
        return None, None
    return sum(transitions) / len(transitions), sum(seconds) / len(seconds)


def order_queue_batch_size() -> int:
    """`BatchSize` of the event source mapping that feeds StartCheckoutFunction from OrderQueue."""
    text = TEMPLATE.read_text()
    block = re.search(r"EventSourceArn: !GetAtt OrderQueue\.Arn.*?BatchSize: (\d+)", text, re.S) or \
        re.search(r"BatchSize: (\d+).*?EventSourceArn: !GetAtt OrderQueue\.Arn", text, re.S)
    return int(block.group(1)) if block else 10


# Every order's customer is e-mailed twice: when it is placed and at its final status (confirmed,
# rejected or declined) - NotificationKind::of_event and OrderNotificationsRule. Shipping and
# cancelling, which send more, are not part of the experiments.
EMAILS_PER_ORDER = 2
NOTIFIER = "NotifyFunction"


def logical_id(name: str, ids) -> str | None:
    """The logical id a function's name carries: the longest one it contains, as
    `StockAlertsFunction` is in `ListStockAlertsFunction`'s name too."""
    return max((i for i in ids if i in name), key=len, default=None)


def emails(of_functions, orders: int) -> tuple:
    """(e-mails, how): each event the notifications consumer applied sent one e-mail
    (consumers/notify.rs); a run that counted none is modelled at two per order."""
    sent = of_functions("EventsConsumed").get(NOTIFIER, 0)
    return (sent, "measured") if sent else (orders * EMAILS_PER_ORDER, "modelled, 2 per order")


def refused_writes(of_functions) -> float | None:
    """Offline, the write units the run's refused conditional writes cost, at one each (the least
    a refusal costs): a short order line (its reservation's condition failed) and a redelivered
    event (its dedup record exists), both in a cancelled transaction, taken to be charged as a
    single refused write is. In AWS the table's `ConsumedWriteCapacityUnits` count them already:
    None."""
    if not os.environ.get("AWS_ENDPOINT_URL"):
        return None
    return sum(of_functions("ReservationConflicts").values()) + sum(of_functions("EventsDuplicate").values())


def rule_queue_requests(of_functions, invocations: dict, ids) -> float:
    """The rule queues' SQS requests: the bus's SendMessage for each event a consumer took (applied
    or duplicate), and a receive and a delete for each batch (one consumer invocation)."""
    consumers = set(fixed_cost.rule_queue_consumers().values())
    messages = sum(v for name in ("EventsConsumed", "EventsDuplicate")
                   for f, v in of_functions(name).items() if f in consumers)
    batches = sum(v for name, v in invocations.items() if logical_id(name, ids) in consumers)
    return messages + 2 * batches


def secret_reads(of_functions) -> float:
    """GetSecretValue calls: one per cold start of a function that reads the signing key."""
    readers = fixed_cost.secret_readers()
    return sum(v for f, v in of_functions("ColdStart").items() if f in readers)


def added_lines(of_functions, invocations: dict, ids, orders: int, prices: dict) -> dict:
    """The lines of the services the handlers call besides the table: SES, the rule queues,
    Secrets Manager, and offline the refused writes' units."""
    sent, how = emails(of_functions, orders)
    queued = rule_queue_requests(of_functions, invocations, ids)
    reads = secret_reads(of_functions)
    lines = {
        "SES e-mails": (sent, sent / 1e3 * prices["ses_per_thousand_emails"], how),
        "SQS requests, rule queues": (queued, queued / 1e6 * prices["sqs_standard_per_million_requests"], "modelled"),
        "Secrets Manager GetSecretValue": (reads, reads / 1e4 * prices["secrets_manager_per_ten_thousand_api_calls"], "measured"),
    }
    refused = refused_writes(of_functions)
    if refused is not None:
        lines["DynamoDB refused conditional writes (offline)"] = (
            refused, refused / 1e6 * prices["dynamodb_on_demand_per_million_write_units"], "modelled")
    return lines


def model(stack: str, table: str, start_ms: int, end_ms: int, api_requests: int, orders: int) -> dict:
    prices = json.loads(PRICES.read_text())
    cloudwatch = client("cloudwatch")
    start, end = start_ms / 1000 - 5, end_ms / 1000 + 5
    memory = memory_by_function()
    # The stack's functions: CloudFormation names each `<stack>-<logical id>-<suffix>`.
    def of_stack(sums: dict) -> dict:
        return {f: v for f, v in sums.items() if f.startswith(f"{stack}-")}

    invocations = of_stack(metric_sums(cloudwatch, "AWS/Lambda", "Invocations", "FunctionName", start, end))
    durations = of_stack(metric_sums(cloudwatch, "AWS/Lambda", "Duration", "FunctionName", start, end))

    def memory_of(name: str) -> int:
        return memory.get(logical_id(name, memory), 256)

    def table_units(name: str) -> float:
        return metric_sums(cloudwatch, "AWS/DynamoDB", name, "TableName", start, end).get(table, 0.0)

    counted: dict = {}

    def of_functions(name: str) -> dict:
        """A Cartwheel metric's sum per function (logical id) over the window, this stack's."""
        if name not in counted:
            counted[name] = metric_sums(cloudwatch, "Cartwheel", name, "function", start, end,
                                        only={"service": stack})
        return counted[name]

    read_units, write_units = table_units("ConsumedReadCapacityUnits"), table_units("ConsumedWriteCapacityUnits")
    gb_seconds = sum(durations.get(f, 0) / 1000 * memory_of(f) / 1024 for f in invocations)
    calls = sum(invocations.values())
    machine = checkout_machine(stack)
    executions = metric_sums(cloudwatch, "AWS/States", "ExecutionsStarted", "StateMachineArn",
                             start, end).get(machine, 0)
    per_execution, execution_s = execution_sample(machine)
    transitions = executions * (per_execution or 0)
    events = sum(of_functions("EventsPublished").values())
    # Each order: one message from the pipe into OrderQueue, received and deleted in batches.
    batch = order_queue_batch_size()
    sqs_requests = orders * (1 + 2 / batch)
    seconds = max(1.0, (end_ms - start_ms) / 1000)
    traces = min(api_requests, XRAY_RESERVOIR_PER_S * seconds + XRAY_RATE * max(0, api_requests - seconds))
    log_gb = (calls * LOG_BYTES_PER_INVOCATION + api_requests * ACCESS_LOG_BYTES) / 1e9
    express_gb_s = executions * math.ceil((execution_s or 0) * 10) / 10 * 64 / 1024
    lines = {
        "API Gateway requests": (api_requests, api_requests / 1e6 * prices["api_gateway_http_per_million_requests"], "measured"),
        "Lambda requests": (calls, calls / 1e6 * prices["lambda_per_million_requests"], "measured"),
        "Lambda GB-seconds": (gb_seconds, gb_seconds * prices["lambda_arm64_per_gb_second"], "measured"),
        "DynamoDB write request units": (
            write_units, write_units / 1e6 * prices["dynamodb_on_demand_per_million_write_units"], "measured"),
        "DynamoDB read request units": (
            read_units, read_units / 1e6 * prices["dynamodb_on_demand_per_million_read_units"], "measured"),
        "Step Functions transitions (Standard)": (
            transitions, transitions / 1e3 * prices["step_functions_standard_per_thousand_transitions"], "measured, sampled"),
        "SQS requests, order queue": (sqs_requests, sqs_requests / 1e6 * prices["sqs_standard_per_million_requests"], "modelled"),
        "EventBridge events": (events, events / 1e6 * prices["eventbridge_per_million_custom_events"], "measured"),
        "EventBridge Pipes requests": (
            orders, orders / 1e6 * prices["eventbridge_pipes_per_million_requests"], "modelled, 1 per order"),
        "CloudWatch Logs GB": (log_gb, log_gb * prices["cloudwatch_logs_ingestion_per_gb"], "modelled"),
        "X-Ray traces (default sampling)": (traces, traces / 1e6 * prices["xray_per_million_traces_recorded"], "modelled"),
        **added_lines(of_functions, invocations, memory, orders, prices),
    }
    total = sum(cost for _, cost, _ in lines.values())
    express = executions / 1e6 * prices["step_functions_express_per_million_requests"] \
        + express_gb_s * prices["step_functions_express_per_gb_second"]
    standard = lines["Step Functions transitions (Standard)"][1]
    per_k = 1000 / orders if orders else 0.0
    # The order queue's batch size changes the receive and delete requests and the starter's
    # invocations per order; the starter's GB-seconds go with the StartExecution calls, per order.
    batches = {size: (orders * (1 + 2 / size) / 1e6 * prices["sqs_standard_per_million_requests"]
                      + orders / size / 1e6 * prices["lambda_per_million_requests"]) * per_k
               for size in (1, 5, 10)}
    return {"prices_as_of": prices["as_of"], "region": prices["region"], "orders": orders,
            "lines": {k: {"count": c, "usd": u, "usd_per_1000_orders": u * per_k, "how": h}
                      for k, (c, u, h) in lines.items()},
            "total_usd": total, "usd_per_1000_orders": total * per_k,
            "saga": {"executions": executions, "transitions_per_execution": per_execution,
                     "mean_execution_s": execution_s,
                     "standard_usd_per_1000_orders": standard * per_k,
                     "express_usd_per_1000_orders": express * per_k},
            "order_queue_batch": {"configured": batch, "usd_per_1000_orders_by_size": batches},
            "monthly": fixed_cost.fixed_monthly(cloudwatch, prices)}


def markdown(cost: dict) -> list:
    lines = [f"## Cost on AWS (list prices of {cost['prices_as_of']}, {cost['region']})", "",
             "### Variable, per 1,000 orders", "",
             "| item | count in the run | how | USD per 1,000 orders |", "|---|---|---|---|"]
    for name, line in cost["lines"].items():
        lines.append(f"| {name} | {line['count']:,.1f} | {line.get('how', '')} | {line['usd_per_1000_orders']:.4f} |")
    saga = cost["saga"]
    lines += [f"| **total** | | | **{cost['usd_per_1000_orders']:.4f}** |", "",
              "Measured: counted from the run's own metrics or request log. Modelled: a count the run "
              "does not record, derived from one it does (see artillery/lib/cost.py).", "",
              f"Saga: {saga['executions']:.0f} executions, {saga['transitions_per_execution'] or 0:.1f} transitions "
              f"and {saga['mean_execution_s'] or 0:.2f} s each (a sample of histories): Standard "
              f"{saga['standard_usd_per_1000_orders']:.4f} USD per 1,000 orders, Express "
              f"{saga['express_usd_per_1000_orders']:.4f}."]
    batch = cost["order_queue_batch"]
    lines.append("Order queue batch size (SQS requests and starter invocations, USD per 1,000 orders): "
                 + ", ".join(f"{size}: {usd:.4f}" for size, usd in batch["usd_per_1000_orders_by_size"].items())
                 + f" (configured: {batch['configured']}).")
    if "events_settled_after_drain_s" in cost:
        lines.append(f"The window ends {cost['events_settled_after_drain_s']} s after the last order ended, "
                     "when the event publisher had caught up with the stream.")
    return lines + fixed_cost.markdown(cost["monthly"])
