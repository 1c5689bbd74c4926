"""moto's server, as the `moto_server` command runs it, with the changes to its CloudWatch that the
offline review of a burst needs, and to its Step Functions engine and SQS that its speed needs.
Written for moto 5.2.5 (see requirements.txt); each patch checks that what it replaces is still
there, so an upgrade that moves it fails at start, not silently.

1. Percentile statistics (`p50`, `p99`, `p99.9`). moto computes only Sum, Average, Minimum, Maximum
   and SampleCount, and answers nothing for a percentile. Here a percentile is the nearest-rank
   value of the raw values in the period (values put with `Values`/`Counts` count as many times).
   Data put only as `StatisticValues` has no distribution, so a percentile skips it, as CloudWatch
   does for such data.
2. GetMetricData in time linear in the data. moto scans every stored point once per period of every
   query: after a burst of a few thousand orders (hundreds of thousands of points) a dashboard's
   queries took minutes. Here the points are grouped by namespace and name once per call, and each
   query buckets only its own. The result is the same, with one difference: moto ignores the
   namespace of a query that has dimensions, and this does not.
3. A value put with a count (`Values`/`Counts`) is kept once, with its count. moto stores it as many
   times as its count: the local runtime's one put a second of a route's latencies at 2,000
   requests/s became 2,000 objects per metric a second, and moto's CPU took a core from the stack
   it measured. Every statistic, percentiles included, is the same as when each were stored.

The saga engine: a profile of moto during a burst (py-spy, 2026-12-02) put 18 % of its CPU in
parsing the state machine's definition again for every execution, 21 % in finding the service of
each request by trying every service's URL patterns, 14 % in computing every attribute of a queue
(walking all its messages) to read one flag on each send, and a few percent in building a new
Lambda client, TLS context included, for every Task state. So:
4. A definition is parsed once; its component tree keeps no execution's state (that lives in each
   execution's environment), so executions share it.
5. A Task state's Lambda client is made once per region and reused (boto3 clients are thread-safe).
6. The service of a host is looked up once per host.
7. A queue's attributes are computed when read, one by one.
8. StartExecution finds an execution of the same name in an index, not by walking every execution
   of the state machine (a second profile, during a burst's drain: 35 % creating clients, which 5
   had missed, and a growing share in that walk).
9. ListMetrics lists each metric once, in time linear in the data. moto compares every stored point
   with every metric found so far, and still answers some once per point: after a burst, one
   ListMetrics of the namespace took over a minute (an experiment's cost model timed out on it).

EventBridge:
10. A replay replays only the archived events whose `time` falls in [EventStartTime, EventEndTime),
    and with `Destination.FilterArns` only to those rules, as EventBridge does. moto replays the
    whole archive to every rule of the bus: `scripts/replay` of one hour would deliver every event
    ever archived, and a test of its window could not fail.
11. An input path (`$.detail`, the default input's paths and every `InputPathsMap` entry) is parsed
    once. moto builds a new JSONPath parser, grammar tables included, for every path of every
    target of every event: a profile during the drain of a 2,000-order burst (py-spy, 2026-12-07)
    put 34 % of moto's CPU there, when moto spent 79 ms of CPU per order in all, most of it on the
    rules' fan-out after the order's saga had ended. A parsed path keeps no state between finds.

12. A queue's visible, in-flight and delayed messages are found with one reading of the clock per
    walk of its messages. moto reads the clock (a timezone-aware datetime, made naive) twice for
    every message on every receive and every depth count: a second profile of the same drain,
    with its event queues thousands deep, put 32 % of moto's CPU in `Queue.messages`.

13. SQS's queues of a region are created, deleted, listed and given attributes one request at a
    time. moto's server answers requests on threads, and a queue with a redrive policy looks for
    its dead-letter queue by walking the region's queues while another request may add one: with
    twelve test stacks starting at once, CreateQueue failed with `RuntimeError: dictionary
    changed size during iteration`, answered as an HTML 500.

Its log: werkzeug's line per request (8 % of moto's CPU in the same profile) is off; moto's own
warnings and errors still reach moto.log.
"""

import functools
import json
import logging
import math
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import boto3
import jsonpath_ng.ext
from botocore.config import Config
from moto.cloudwatch import models
from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.metric_data_expression_parser import parse_expression
from moto.core.utils import camelcase_to_underscores, unix_time, unix_time_millis
from moto.events.models import Replay, ReplayState, events_backends
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main
from moto.sqs.models import Queue, SQSBackend
from moto.stepfunctions.exceptions import ExecutionAlreadyExists
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")


def _require(owner: Any, attribute: str) -> Any:
    if not hasattr(owner, attribute):
        raise SystemExit(
            f"infra/offline/moto_server.py: moto has no {owner.__name__}.{attribute}; "
            "this patch was written for moto 5.2.5"
        )
    return getattr(owner, attribute)


def percentile(weighted: list[tuple[float, float]], rank: float) -> float | None:
    """Nearest-rank percentile of (value, count) pairs: the smallest value with at least `rank`% of
    the values at or below it."""
    total = sum(count for _, count in weighted)
    if not total:
        return None
    wanted = max(math.ceil(rank / 100 * total), 1)
    seen = 0.0
    for value, count in sorted(weighted):
        seen += count
        if seen >= wanted:
            return value
    return None


class WeightedDatum(models.MetricAggregatedDatum):
    """One value put `count` times: to moto's statistics an aggregate whose minimum, maximum and
    average are the value; to the percentiles the value with its count."""

    # moto's model registry names a model's service after its module.
    __module__ = models.__name__

    def __init__(self, namespace: str, member: dict[str, Any], value: float, count: float) -> None:
        super().__init__(namespace=namespace, name=member["MetricName"], min_stat=value,
                         max_stat=value, sample_count=count, sum_stat=value * count,
                         dimensions=member.get("Dimensions", []),
                         timestamp=member.get("Timestamp"), unit=member.get("Unit"))
        self.value = value


_put_metric_data = _require(models.CloudWatchBackend, "put_metric_data")
_validate = _require(models.CloudWatchBackend, "_validate_parameters_put_metric_data")


def put_metric_data(self: models.CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    for position, member in enumerate(metric_data):
        _validate(self, member, position + 1)
    _put_metric_data(self, namespace, [m for m in metric_data if not m.get("Values")])
    for member in (m for m in metric_data if m.get("Values")):
        counts = member.get("Counts") or ["1"] * len(member["Values"])
        for value, count in zip(member["Values"], counts, strict=False):
            self.metric_data.append(WeightedDatum(namespace, member, float(value), float(count)))


_statistic = _require(models.Statistics, "get_statistics_for_type")


def get_statistics_for_type(self: models.Statistics, stat: str) -> Any:
    match = PERCENTILE.match(stat)
    if match:
        weighted = [(value, 1.0) for value in self.metric_single_values_list] + [
            (d.value, d.sample_count) for d in self.metric_aggregated_list if isinstance(d, WeightedDatum)
        ]
        return percentile(weighted, float(match.group(1)))
    return _statistic(self, stat)


_get_metric_data = _require(models.CloudWatchBackend, "get_metric_data")


def _dimensions(pairs: list[Any]) -> frozenset[tuple[str, str]]:
    return frozenset((d.name, d.value) for d in pairs)


def _series(
    points: list[Any], query: dict[str, Any], start: datetime, end: datetime
) -> tuple[list[Any], list[datetime]]:
    """One MetricStat query: its points bucketed by period, each bucket's statistic, oldest first."""
    metric_stat = query["MetricStat"]
    metric = metric_stat["Metric"]
    wanted = frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
    unit = metric_stat.get("Unit")
    stat = metric_stat["Stat"]
    period = int(metric_stat["Period"])
    buckets: dict[int, list[Any]] = defaultdict(list)
    for point in points:
        if wanted and _dimensions(point.dimensions) != wanted:
            continue
        if unit and point.unit != unit:
            continue
        buckets[int((point.timestamp - start).total_seconds()) // period].append(point)
    values, timestamps = [], []
    for bucket in sorted(buckets):
        at = start + timedelta(seconds=bucket * period)
        if at > end:
            continue
        statistics = models.Statistics([stat], at)
        statistics.metric_data = buckets[bucket]
        value = statistics.get_statistics_for_type(stat)
        if value is not None:
            values.append(value)
            timestamps.append(at)
    return values, timestamps


def get_metric_data(
    self: models.CloudWatchBackend,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    start, end = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
    if start >= end:
        raise ValidationError("The parameter EndTime must be greater than StartTime.")
    insights = [q for q in queries if q.get("Expression", "").startswith("SELECT")]
    by_metric: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for point in self.get_all_metrics():
        if start <= point.timestamp < end:
            by_metric[(point.namespace, point.name)].append(point)

    results, returned = [], []
    for query in (q for q in queries if "MetricStat" in q):
        metric = query["MetricStat"]["Metric"]
        points = by_metric.get((metric["Namespace"], metric["MetricName"]), [])
        values, timestamps = _series(points, query, start, end)
        if scan_by == "TimestampDescending":
            values.reverse()
            timestamps.reverse()
        label = query.get("Label") or f"{metric['MetricName']} {query['MetricStat']['Stat']}"
        result = {"id": query["Id"], "label": label, "values": values,
                  "timestamps": timestamps, "status_code": "Complete"}
        results.append(result)
        if query.get("ReturnData", True):
            returned.append(result)
    for query in (q for q in queries if "Expression" in q and q not in insights):
        values, timestamps = parse_expression(query["Expression"], results)
        returned.append({"id": query["Id"], "label": query.get("Label") or query["Id"],
                         "values": values, "timestamps": timestamps, "status_code": "Complete"})
    if insights:
        returned.extend(_get_metric_data(self, insights, start_time, end_time, scan_by))
    return returned


_require(models.CloudWatchBackend, "get_filtered_metrics")


def get_filtered_metrics(
    self: models.CloudWatchBackend, metric_name: str, namespace: str, dimensions: list[dict[str, str]]
) -> list[Any]:
    """The metrics that match, each once (by namespace, name and set of dimensions), oldest first."""
    wanted = {(d["Name"], d.get("Value")) for d in dimensions or []}
    found: dict[tuple[str, str, frozenset[tuple[str, str]]], Any] = {}
    for point in self.get_all_metrics():
        if (namespace and point.namespace != namespace) or (metric_name and point.name != metric_name):
            continue
        pairs = _dimensions(point.dimensions)
        if any(not any(n == name and (value is None or v == value) for n, v in pairs) for name, value in wanted):
            continue
        found.setdefault((point.namespace, point.name, pairs), point)
    return list(found.values())


models.CloudWatchBackend.get_filtered_metrics = get_filtered_metrics
models.Statistics.get_statistics_for_type = get_statistics_for_type
models.CloudWatchBackend.get_metric_data = get_metric_data
models.CloudWatchBackend.put_metric_data = put_metric_data

_PROGRAMS: dict[str, Any] = {}
_require(ExecutionWorker, "_get_evaluation_entrypoint")


def _get_evaluation_entrypoint(self: ExecutionWorker) -> Any:
    definition = self._evaluation_details.state_machine_details.definition
    program = _PROGRAMS.get(definition)
    if program is None:
        program = _PROGRAMS.setdefault(definition, AmazonStateLanguageParser.parse(definition)[0])
    return program


_boto_client_for = _require(lambda_eval_utils, "boto_client_for")
_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    # moto's own ignores `state_credentials` (every client signs as "ak"), so one client a region
    # serves every execution.
    with _CLIENTS_LOCK:
        if (region, service) not in _CLIENTS:
            client = _boto_client_for(region, service)
            # The same client, with a pool as large as the executions that share it.
            _CLIENTS[(region, service)] = boto3.client(
                service, region_name=region, endpoint_url=client.meta.endpoint_url,
                aws_access_key_id="ak", aws_secret_access_key="sk",
                config=client.meta.config.merge(Config(max_pool_connections=64)))
        return _CLIENTS[(region, service)]


_get_backend_for_host = _require(DomainDispatcherApplication, "get_backend_for_host")
_BACKENDS: dict[str | None, Any] = {}


def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
    if host not in _BACKENDS:
        _BACKENDS[host] = _get_backend_for_host(self, host)
    return _BACKENDS[host]


_require(StateMachine, "_handle_name_input_idempotency")


# Kept beside the state machines, not on them: moto deep-copies a state machine for each execution
# (all but its executions list), and an index of executions cannot be copied.
_EXECUTION_INDEXES: dict = {}


def _handle_name_input_idempotency(self: StateMachine, name: str, execution_input: str) -> Any:
    """moto's check, with executions found by name in an index instead of a walk over all of them."""
    executions = self.executions
    _, index, indexed = _EXECUTION_INDEXES.get(id(executions), (executions, {}, 0))
    if indexed > len(executions):
        index, indexed = {}, 0
    for execution in executions[indexed:]:
        index.setdefault(execution.name, execution)
    _EXECUTION_INDEXES[id(executions)] = (executions, index, len(executions))
    execution = index.get(name)
    if execution is None:
        return None
    if execution_input == execution.execution_input and execution.status == "RUNNING":
        return execution
    raise ExecutionAlreadyExists("Execution Already Exists: '" + execution.execution_arn + "'")


class LazyAttributes(Mapping):
    """A queue's attributes as moto's `Queue.attributes` gives them, each computed when read."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            self.names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            self.names += queue.KMS_ATTRIBUTES

    def __getitem__(self, name: str) -> Any:
        if name not in self.names:
            raise KeyError(name)
        if name == "RedrivePolicy" and self.queue.redrive_policy:
            return json.dumps(self.queue.redrive_policy)
        value = getattr(self.queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Any:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


_require(Queue, "attributes")
_require(Queue, "BASE_ATTRIBUTES")

ExecutionWorker._get_evaluation_entrypoint = _get_evaluation_entrypoint
lambda_eval_utils.boto_client_for = boto_client_for
DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
StateMachine._handle_name_input_idempotency = _handle_name_input_idempotency
Queue.attributes = property(LazyAttributes)


def _visible_messages(self: Queue) -> list[Any]:
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _delayed_count(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _not_visible_count(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


for _name in ("messages", "approximate_number_of_messages_delayed", "approximate_number_of_messages_not_visible"):
    _require(Queue, _name)
Queue.messages = property(_visible_messages)
Queue.approximate_number_of_messages_delayed = property(_delayed_count)
Queue.approximate_number_of_messages_not_visible = property(_not_visible_count)

_QUEUES_LOCK = threading.RLock()


def _one_at_a_time(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _QUEUES_LOCK:
            return method(*args, **kwargs)

    return locked


for _name in ("create_queue", "delete_queue", "list_queues", "set_queue_attributes"):
    setattr(SQSBackend, _name, _one_at_a_time(_require(SQSBackend, _name)))

_require(Replay, "replay_events")


def _epoch(value: Any) -> float:
    """A time as moto holds it, in epoch seconds: StartReplay's times and an archived event's `time`
    are the numbers the client sent (or moto's own clock); text is taken as epoch seconds or ISO 8601."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def replay_events(self: Replay, archive: Any) -> None:
    """moto's replay, sending only the events of the window, and only to the rules of FilterArns when
    it names any; each replayed event still gets a new id and the `replay-name` that keeps it out of
    the archive again."""
    start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
    wanted = set(self.destination.get("FilterArns") or [])
    bus_name = self.destination["Arn"].split("/")[-1]
    bus = events_backends[self.account_id][self.region].describe_event_bus(bus_name)
    rules = [rule for rule in bus.rules.values() if not wanted or rule.arn in wanted]
    for event in archive.events:
        if not start <= _epoch(event["time"]) < end:
            continue
        for rule in rules:
            rule.send_to_targets(
                dict(event, **{"id": str(mock_random.uuid4()), "replay-name": self.name}),
                transform_input=False,
            )
    self.state = ReplayState.COMPLETED
    self.end_time = unix_time()


Replay.replay_events = replay_events

# moto.events.utils imports `parse` from jsonpath_ng.ext inside the function, on each call.
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(_require(jsonpath_ng.ext, "parse"))

logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
