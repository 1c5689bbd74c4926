"""What a run would cost on AWS, per 1,000 orders, priced from artillery/prices.json.

Counted from the run: API requests (the request log), Lambda invocations and duration per function
(`AWS/Lambda` metrics) at each function's memory in template.yaml, checkout executions (`AWS/States`)
with the state transitions and duration of a sample of their histories, the events published
(`EventsPublished`), and the messages each order sends through the pipe and the order queue.
Modelled, and said so in the report: SQS requests per message (send, then receive and delete per
batch), CloudWatch Logs bytes per invocation, X-Ray traces under the default sampling rule.
DynamoDB read and write units are not counted yet: DynamoDB Local answers `ReturnConsumedCapacity`,
but the functions do not ask for it (an open item of issue 10).
"""

import json
import math
import re
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


def metric_sums(cloudwatch, namespace: str, name: str, dimension: str, start: float, end: float) -> dict:
    """The Sum of `name` over the window, per value of `dimension`."""
    metrics = cloudwatch.list_metrics(Namespace=namespace, MetricName=name)["Metrics"]
    values = sorted({d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == dimension})
    if not values:
        return {}
    period = max(60, math.ceil((end - start) / 60) * 60)
    queries = [{"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name,
                "Dimensions": [{"Name": dimension, "Value": v}]}, "Period": period, "Stat": "Sum"}}
               for i, v in enumerate(values)]
    sums = {}
    for first in range(0, len(queries), 500):
        answer = cloudwatch.get_metric_data(MetricDataQueries=queries[first:first + 500],
                                            StartTime=start, EndTime=start + period)
        for result in answer["MetricDataResults"]:
            sums[values[int(result["Id"][1:])]] = sum(result["Values"])
    return sums


def execution_sample(stack: str, limit: int = 20):
    """Mean state transitions and mean duration (s) of the checkout saga's latest executions."""
    sfn = client("stepfunctions")
    machine = next((m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                    if m["name"].startswith(stack) and "Checkout" in m["name"]), None)
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


def model(stack: str, start_ms: int, end_ms: int, api_requests: int, orders: int) -> dict:
    prices = json.loads(PRICES.read_text())
    cloudwatch = client("cloudwatch")
    start, end = start_ms / 1000 - 5, end_ms / 1000 + 5
    memory = memory_by_function()
    invocations = metric_sums(cloudwatch, "AWS/Lambda", "Invocations", "FunctionName", start, end)
    durations = metric_sums(cloudwatch, "AWS/Lambda", "Duration", "FunctionName", start, end)

    def memory_of(name: str) -> int:
        logical = max((l for l in memory if l in name), key=len, default=None)
        return memory.get(logical, 256)

    gb_seconds = sum(durations.get(f, 0) / 1000 * memory_of(f) / 1024 for f in invocations)
    calls = sum(invocations.values())
    executions = sum(metric_sums(cloudwatch, "AWS/States", "ExecutionsStarted", "StateMachineArn",
                                 start, end).values())
    per_execution, execution_s = execution_sample(stack)
    transitions = executions * (per_execution or 0)
    events = sum(metric_sums(cloudwatch, "Cartwheel", "EventsPublished", "function", start, end).values())
    # Each order: one message from the pipe into OrderQueue, received and deleted in batches of 10.
    sqs_requests = orders * (1 + 2 / 10)
    seconds = max(1.0, (end_ms - start_ms) / 1000)
    traces = min(api_requests, XRAY_RESERVOIR_PER_S * seconds + XRAY_RATE * max(0, api_requests - seconds))
    log_gb = (calls * LOG_BYTES_PER_INVOCATION + api_requests * ACCESS_LOG_BYTES) / 1e9
    express_gb_s = executions * math.ceil((execution_s or 0) * 10) / 10 * 64 / 1024
    lines = {
        "API Gateway requests": (api_requests, api_requests / 1e6 * prices["api_gateway_http_per_million_requests"]),
        "Lambda requests": (calls, calls / 1e6 * prices["lambda_per_million_requests"]),
        "Lambda GB-seconds": (gb_seconds, gb_seconds * prices["lambda_arm64_per_gb_second"]),
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
    return {"prices_as_of": prices["as_of"], "region": prices["region"], "orders": orders,
            "lines": {k: {"count": c, "usd": u, "usd_per_1000_orders": u * per_k} for k, (c, u) in lines.items()},
            "total_usd": total, "usd_per_1000_orders": total * per_k,
            "saga": {"executions": executions, "transitions_per_execution": per_execution,
                     "mean_execution_s": execution_s,
                     "standard_usd_per_1000_orders": standard * per_k,
                     "express_usd_per_1000_orders": express * per_k}}


def markdown(cost: dict) -> list:
    lines = [f"## Cost on AWS (list prices of {cost['prices_as_of']}, {cost['region']})", "",
             "| item | count | USD per 1,000 orders |", "|---|---|---|"]
    for name, line in cost["lines"].items():
        lines.append(f"| {name} | {line['count']:,.1f} | {line['usd_per_1000_orders']:.4f} |")
    saga = cost["saga"]
    lines += [f"| **total (DynamoDB not counted yet)** | | **{cost['usd_per_1000_orders']:.4f}** |", "",
              f"Saga: {saga['executions']:.0f} executions, {saga['transitions_per_execution'] or 0:.1f} transitions "
              f"and {saga['mean_execution_s'] or 0:.2f} s each (a sample of histories): Standard "
              f"{saga['standard_usd_per_1000_orders']:.4f} USD per 1,000 orders, Express "
              f"{saga['express_usd_per_1000_orders']:.4f}."]
    return lines
