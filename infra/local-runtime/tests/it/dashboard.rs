//! The dashboard and the alarms in template.yaml name only metrics that exist: the business
//! metrics the functions declare (`cartwheel_telemetry::Metric`), and the metrics AWS emits in the
//! namespaces Cartwheel uses, each with its dimension pointing at a resource of the right type.
//! Widgets that show "each function" or "each queue" show every one. Nothing here needs the
//! emulators.

use cartwheel_telemetry::{Metric, DIMENSIONS, NAMESPACE};
use cartwheel_template::{Expr, Template, EMBEDDED};
use serde_json::Value;
use serde_yaml::Value as Yaml;
use std::collections::BTreeSet;

/// What AWS emits that Cartwheel reviews: namespace, metric, the dimension it is read by, and the
/// template resource type that dimension names. The offline runtime records all of them but the
/// DynamoDB ones (DynamoDB Local reports no capacity or throttling).
const AWS_METRICS: [(&str, &str, &str, &str); 26] = [
    ("AWS/ApiGateway", "Count", "ApiId", API),
    ("AWS/ApiGateway", "4xx", "ApiId", API),
    ("AWS/ApiGateway", "5xx", "ApiId", API),
    ("AWS/ApiGateway", "Latency", "ApiId", API),
    ("AWS/ApiGateway", "IntegrationLatency", "ApiId", API),
    ("AWS/Lambda", "Invocations", "FunctionName", FUNCTION),
    ("AWS/Lambda", "Errors", "FunctionName", FUNCTION),
    ("AWS/Lambda", "Throttles", "FunctionName", FUNCTION),
    ("AWS/Lambda", "Duration", "FunctionName", FUNCTION),
    (
        "AWS/Lambda",
        "ConcurrentExecutions",
        "FunctionName",
        FUNCTION,
    ),
    ("AWS/Lambda", "IteratorAge", "FunctionName", FUNCTION),
    (
        "AWS/DynamoDB",
        "ConsumedReadCapacityUnits",
        "TableName",
        TABLE,
    ),
    (
        "AWS/DynamoDB",
        "ConsumedWriteCapacityUnits",
        "TableName",
        TABLE,
    ),
    ("AWS/DynamoDB", "ReadThrottleEvents", "TableName", TABLE),
    ("AWS/DynamoDB", "WriteThrottleEvents", "TableName", TABLE),
    (
        "AWS/DynamoDB",
        "ConditionalCheckFailedRequests",
        "TableName",
        TABLE,
    ),
    ("AWS/DynamoDB", "TransactionConflict", "TableName", TABLE),
    (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        QUEUE,
    ),
    (
        "AWS/SQS",
        "ApproximateNumberOfMessagesNotVisible",
        "QueueName",
        QUEUE,
    ),
    (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "QueueName",
        QUEUE,
    ),
    (
        "AWS/States",
        "ExecutionsStarted",
        "StateMachineArn",
        MACHINE,
    ),
    (
        "AWS/States",
        "ExecutionsSucceeded",
        "StateMachineArn",
        MACHINE,
    ),
    ("AWS/States", "ExecutionsFailed", "StateMachineArn", MACHINE),
    (
        "AWS/States",
        "ExecutionsTimedOut",
        "StateMachineArn",
        MACHINE,
    ),
    (
        "AWS/States",
        "ExecutionsAborted",
        "StateMachineArn",
        MACHINE,
    ),
    ("AWS/States", "ExecutionTime", "StateMachineArn", MACHINE),
];
const API: &str = "AWS::Serverless::HttpApi";
const FUNCTION: &str = "AWS::Serverless::Function";
const TABLE: &str = "AWS::DynamoDB::Table";
const QUEUE: &str = "AWS::SQS::Queue";
const MACHINE: &str = "AWS::Serverless::StateMachine";

/// One metric a widget or an alarm reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Read {
    namespace: String,
    name: String,
    /// Dimension names and values; a value that CloudFormation substitutes is `ref:Id` or
    /// `ref:Id.Attribute`.
    dimensions: Vec<(String, String)>,
}

/// The dashboard body with every `${...}` replaced by `ref:...`, parsed.
fn dashboard(template: &Template) -> Value {
    let Some(Expr::Sub(body)) = template.property("Dashboard", "DashboardBody") else {
        panic!("template.yaml's Dashboard has a !Sub DashboardBody");
    };
    let mut resolved = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').expect("a closed ${");
        resolved.push_str(&rest[..start]);
        resolved.push_str("ref:");
        resolved.push_str(&rest[start + 2..end]);
        rest = &rest[end + 1..];
    }
    resolved.push_str(rest);
    serde_json::from_str(&resolved).expect("the dashboard body is JSON")
}

/// Each metric widget's title and the metrics it reads, with CloudWatch's "." shorthand expanded.
fn widgets(dashboard: &Value) -> Vec<(String, Vec<Read>)> {
    let metric_widgets = dashboard["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .filter(|w| w["type"] == "metric");
    metric_widgets
        .map(|widget| {
            let mut previous: Vec<String> = Vec::new();
            let reads = widget["properties"]["metrics"]
                .as_array()
                .expect("a metric widget lists metrics")
                .iter()
                .map(|row| {
                    let fields: Vec<String> = row
                        .as_array()
                        .expect("a metric row is an array")
                        .iter()
                        .filter_map(Value::as_str)
                        .enumerate()
                        .map(|(i, f)| match f {
                            "." => previous[i].clone(),
                            f => f.to_owned(),
                        })
                        .collect();
                    previous.clone_from(&fields);
                    Read {
                        namespace: fields[0].clone(),
                        name: fields[1].clone(),
                        dimensions: fields[2..]
                            .chunks(2)
                            .map(|pair| (pair[0].clone(), pair[1].clone()))
                            .collect(),
                    }
                })
                .collect();
            let title = widget["properties"]["title"].as_str().unwrap_or_default();
            (title.to_owned(), reads)
        })
        .collect()
}

/// Why `read` names a metric that does not exist, if it does.
fn defect(template: &Template, read: &Read) -> Option<String> {
    let functions = template.ids_of_type(FUNCTION);
    if read.namespace == NAMESPACE {
        if !Metric::ALL.iter().any(|m| m.name() == read.name) {
            return Some(format!("{} is no metric the functions declare", read.name));
        }
        let names: Vec<&str> = read.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let function = read.dimensions.get(1).map(|(_, v)| v.as_str());
        let service = read.dimensions.first().map(|(_, v)| v.as_str());
        return (names != DIMENSIONS
            || service != Some("ref:AWS::StackName")
            || !function.is_some_and(|f| functions.iter().any(|id| id == f)))
        .then(|| format!("{read:?} does not carry the service and a template function"));
    }
    let Some((_, _, dimension, kind)) = AWS_METRICS
        .iter()
        .find(|(ns, name, ..)| *ns == read.namespace && *name == read.name)
    else {
        return Some(format!(
            "{}/{} is not a metric AWS emits",
            read.namespace, read.name
        ));
    };
    let [(name, value)] = read.dimensions.as_slice() else {
        return Some(format!(
            "{read:?} should have exactly the dimension {dimension}"
        ));
    };
    let target = value.trim_start_matches("ref:");
    let id = target.split('.').next().unwrap_or_default();
    let attribute_ok = *kind != QUEUE || target.ends_with(".QueueName");
    (name != dimension || !template.ids_of_type(kind).iter().any(|k| k == id) || !attribute_ok)
        .then(|| format!("{read:?}: its {dimension} should name a {kind}"))
}

fn template() -> Template {
    Template::parse(EMBEDDED).expect("template.yaml parses")
}

#[test]
fn every_widget_reads_a_metric_that_is_emitted() {
    let template = template();
    let defects: Vec<String> = widgets(&dashboard(&template))
        .iter()
        .flat_map(|(title, reads)| {
            let template = &template;
            reads
                .iter()
                .filter_map(move |read| Some(format!("{title}: {}", defect(template, read)?)))
        })
        .collect();
    assert!(defects.is_empty(), "{defects:#?}");
}

#[test]
fn every_business_metric_is_on_the_dashboard() {
    let shown: BTreeSet<String> = widgets(&dashboard(&template()))
        .into_iter()
        .flat_map(|(_, reads)| reads)
        .filter(|r| r.namespace == NAMESPACE)
        .map(|r| r.name)
        .collect();
    let missing: Vec<&str> = Metric::ALL
        .iter()
        .map(|m| m.name())
        .filter(|name| !shown.contains(*name))
        .collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
}

/// A widget that reads one metric for several functions (or queues) reads it for all of them.
#[test]
fn per_function_and_per_queue_widgets_show_every_one() {
    let template = template();
    for (title, reads) in widgets(&dashboard(&template)) {
        for (dimension, kind) in [
            ("FunctionName", FUNCTION),
            ("QueueName", QUEUE),
            ("function", FUNCTION),
        ] {
            let named: BTreeSet<String> = reads
                .iter()
                .flat_map(|r| &r.dimensions)
                .filter(|(n, _)| n == dimension)
                .map(|(_, v)| {
                    let v = v.trim_start_matches("ref:");
                    v.split('.').next().unwrap_or_default().to_owned()
                })
                .collect();
            // A widget that names most of them is one of the per-function (per-queue) widgets,
            // which must name every one.
            let declared: BTreeSet<String> = template.ids_of_type(kind).into_iter().collect();
            if named.len() > 4 && named.len() * 2 > declared.len() {
                assert_eq!(named, declared, "{title}");
            }
        }
    }
}

/// Every alarm reads a metric that is emitted, and tells the alarm topic.
#[test]
fn every_alarm_reads_a_metric_that_is_emitted() {
    let template = template();
    let yaml: Yaml = serde_yaml::from_str(EMBEDDED).unwrap();
    let alarms = template.ids_of_type("AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 10, "{alarms:?}");
    let mut defects = Vec::new();
    for alarm in &alarms {
        let properties = &yaml["Resources"][alarm.as_str()]["Properties"];
        let metrics: Vec<&Yaml> = match properties["Metrics"].as_sequence() {
            Some(queries) => queries
                .iter()
                .map(|q| &q["MetricStat"]["Metric"])
                .filter(|m| !m.is_null())
                .collect(),
            None => vec![properties],
        };
        for metric in metrics {
            let read = alarm_read(metric);
            if let Some(defect) = defect(&template, &read) {
                defects.push(format!("{alarm}: {defect}"));
            }
        }
    }
    assert!(defects.is_empty(), "{defects:#?}");
}

/// An alarm's metric, its dimension values written as the dashboard's are (`ref:Id`).
fn alarm_read(metric: &Yaml) -> Read {
    let text = |v: &Yaml| v.as_str().unwrap_or_default().to_owned();
    let value = |v: &Yaml| match Expr::parse(v) {
        Some(Expr::Ref(id)) => format!("ref:{id}"),
        Some(Expr::GetAtt(id, attribute)) => format!("ref:{id}.{attribute}"),
        other => format!("{other:?}"),
    };
    Read {
        namespace: text(&metric["Namespace"]),
        name: text(&metric["MetricName"]),
        dimensions: metric["Dimensions"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|d| (text(&d["Name"]), value(&d["Value"])))
            .collect(),
    }
}

#[test]
fn a_metric_nobody_emits_is_found() {
    let template = template();
    let read = |namespace: &str, name: &str, dimensions: &[(&str, &str)]| Read {
        namespace: namespace.into(),
        name: name.into(),
        dimensions: dimensions
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect(),
    };
    let service = ("service", "ref:AWS::StackName");
    let place = ("function", "PlaceOrderFunction");
    assert!(defect(
        &template,
        &read(NAMESPACE, "OrdersPlaced", &[service, place])
    )
    .is_none());
    assert!(defect(
        &template,
        &read(NAMESPACE, "OrdersShipped", &[service, place])
    )
    .is_some());
    assert!(defect(&template, &read(NAMESPACE, "OrdersPlaced", &[place])).is_some());
    let queue = ("QueueName", "ref:OrderQueue.QueueName");
    assert!(defect(
        &template,
        &read("AWS/SQS", "ApproximateNumberOfMessagesVisible", &[queue])
    )
    .is_none());
    assert!(defect(
        &template,
        &read("AWS/SQS", "NumberOfMessagesLost", &[queue])
    )
    .is_some());
    let not_a_queue = ("QueueName", "ref:Table.QueueName");
    assert!(defect(
        &template,
        &read(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            &[not_a_queue]
        )
    )
    .is_some());
}

/// The table of business metrics in docs/metrics.md names every metric of the catalog.
#[test]
fn the_docs_explain_every_business_metric() {
    let readme = include_str!("../../../../docs/metrics.md");
    let missing: Vec<&str> = Metric::ALL
        .iter()
        .map(|m| m.name())
        .filter(|name| !readme.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/metrics.md's table: {missing:?}"
    );
}
