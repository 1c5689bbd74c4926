"""What a run would cost on AWS, per 1,000 orders, priced from artillery/prices.json.

Counted from the run: API requests (the request log), Lambda invocations and duration per function
(`AWS/Lambda` metrics) at each function's memory in template.yaml, checkout executions (`AWS/States`)
with the state transitions and duration of a sample of their histories, the events published
(`EventsPublished`), and the messages each order sends through the pipe and the order queue.
Modelled, and said so in the report: SQS requests per message (send, then receive and delete per
batch), CloudWatch Logs bytes per invocation, X-Ray traces under the default sampling rule.
DynamoDB read and write units are the table's `AWS/DynamoDB` `ConsumedReadCapacityUnits` and
`ConsumedWriteCapacityUnits`, priced as on-demand request units: AWS publishes them per table, and
offline the runtime records what DynamoDB Local answers to `ReturnConsumedCapacity` on every call a
function makes (`infra/local-runtime/src/capacity.rs`).
"""

import json
import math
import os
import re
import sys
import time
from pathlib import Path

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
    for block in re.split(r"\n(?=  [A-Za-z0-9]+:\n    Type: )", text):
        head = re.match(r"\s*([A-Za-z0-9]+):\n    Type: AWS::Serverless::Function", block)
        if head:
            own = re.search(r"^      MemorySize: (\d+)", block, re.M)
            memory[head.group(1)] = int(own.group(1)) if own else default
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


def fixed_monthly(cloudwatch, prices: dict) -> dict:
    """What the stack costs a month whatever its traffic: its custom metrics (each name and set of
    dimensions the run emitted), its alarms and its dashboard."""
    names, token = set(), None
    while True:
        page = cloudwatch.list_metrics(Namespace="Cartwheel", **({"NextToken": token} if token else {}))
        names.update((m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
                     for m in page["Metrics"])
        token = page.get("NextToken")
        if not token:
            break
    alarms = TEMPLATE.read_text().count("Type: AWS::CloudWatch::Alarm")
    usd = (len(names) * prices["cloudwatch_per_metric_month"]
           + alarms * prices["cloudwatch_per_alarm_month"] + prices["cloudwatch_per_dashboard_month"])
    return {"custom_metrics": len(names), "alarms": alarms, "dashboards": 1, "usd": usd}


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
        logical = max((l for l in memory if l in name), key=len, default=None)
        return memory.get(logical, 256)

    def table_units(name: str) -> float:
        return metric_sums(cloudwatch, "AWS/DynamoDB", name, "TableName", start, end).get(table, 0.0)

    read_units, write_units = table_units("ConsumedReadCapacityUnits"), table_units("ConsumedWriteCapacityUnits")
    gb_seconds = sum(durations.get(f, 0) / 1000 * memory_of(f) / 1024 for f in invocations)
    calls = sum(invocations.values())
    machine = checkout_machine(stack)
    executions = metric_sums(cloudwatch, "AWS/States", "ExecutionsStarted", "StateMachineArn",
                             start, end).get(machine, 0)
    per_execution, execution_s = execution_sample(machine)
    transitions = executions * (per_execution or 0)
    events = sum(metric_sums(cloudwatch, "Cartwheel", "EventsPublished", "function", start, end,
                             only={"service": stack}).values())
    # Each order: one message from the pipe into OrderQueue, received and deleted in batches.
    batch = order_queue_batch_size()
    sqs_requests = orders * (1 + 2 / batch)
    seconds = max(1.0, (end_ms - start_ms) / 1000)
    traces = min(api_requests, XRAY_RESERVOIR_PER_S * seconds + XRAY_RATE * max(0, api_requests - seconds))
    log_gb = (calls * LOG_BYTES_PER_INVOCATION + api_requests * ACCESS_LOG_BYTES) / 1e9
    express_gb_s = executions * math.ceil((execution_s or 0) * 10) / 10 * 64 / 1024
    lines = {
        "API Gateway requests": (api_requests, api_requests / 1e6 * prices["api_gateway_http_per_million_requests"]),
        "Lambda requests": (calls, calls / 1e6 * prices["lambda_per_million_requests"]),
        "Lambda GB-seconds": (gb_seconds, gb_seconds * prices["lambda_arm64_per_gb_second"]),
        "DynamoDB write request units": (write_units, write_units / 1e6 * prices["dynamodb_on_demand_per_million_write_units"]),
        "DynamoDB read request units": (read_units, read_units / 1e6 * prices["dynamodb_on_demand_per_million_read_units"]),
        "Step Functions transitions (Standard)": (transitions, transitions / 1e3 * prices["step_functions_standard_per_thousand_transitions"]),
        "SQS requests (modelled)": (sqs_requests, sqs_requests / 1e6 * prices["sqs_standard_per_million_requests"]),
        "EventBridge events": (events, events / 1e6 * prices["eventbridge_per_million_custom_events"]),
        "EventBridge Pipes requests": (orders, orders / 1e6 * prices["eventbridge_pipes_per_million_requests"]),
        "CloudWatch Logs GB (modelled)": (log_gb, log_gb * prices["cloudwatch_logs_ingestion_per_gb"]),
        "X-Ray traces (default sampling)": (traces, traces / 1e6 * prices["xray_per_million_traces_recorded"]),
    }
    total = sum(cost for _, cost in lines.values())
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
            "lines": {k: {"count": c, "usd": u, "usd_per_1000_orders": u * per_k} for k, (c, u) in lines.items()},
            "total_usd": total, "usd_per_1000_orders": total * per_k,
            "saga": {"executions": executions, "transitions_per_execution": per_execution,
                     "mean_execution_s": execution_s,
                     "standard_usd_per_1000_orders": standard * per_k,
                     "express_usd_per_1000_orders": express * per_k},
            "order_queue_batch": {"configured": batch, "usd_per_1000_orders_by_size": batches},
            "monthly": fixed_monthly(cloudwatch, prices)}


def markdown(cost: dict) -> list:
    lines = [f"## Cost on AWS (list prices of {cost['prices_as_of']}, {cost['region']})", "",
             "| item | count | USD per 1,000 orders |", "|---|---|---|"]
    for name, line in cost["lines"].items():
        lines.append(f"| {name} | {line['count']:,.1f} | {line['usd_per_1000_orders']:.4f} |")
    saga = cost["saga"]
    lines += [f"| **total** | | **{cost['usd_per_1000_orders']:.4f}** |", "",
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
    monthly = cost["monthly"]
    lines.append(f"Fixed each month whatever the traffic: {monthly['custom_metrics']} custom metrics, "
                 f"{monthly['alarms']} alarms and a dashboard, {monthly['usd']:.2f} USD.")
    return lines
