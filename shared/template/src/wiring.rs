//! What carries messages between the functions: queues, event sources, rules and pipes.

use crate::model::{get, list, referenced_id, text, Template, TemplateError};
use crate::Expr;
use serde_yaml::Value;

/// Something other than an HTTP route that invokes a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// An `AWS::Lambda::EventSourceMapping` from a queue: batches from it, at most
    /// `max_concurrency` invocations at once.
    Queue {
        queue: String,
        batch_size: u32,
        max_concurrency: u32,
    },
    /// An `AWS::Lambda::EventSourceMapping` from the table's stream, with the queue that is told
    /// of what fails every retry.
    TableStream {
        batch_size: u32,
        /// `MaximumRetryAttempts`; `None` (-1, the default) retries until the record expires.
        max_retries: Option<u32>,
        /// `BisectBatchOnFunctionError`: a failed invocation's batch is split in two and retried.
        bisect: bool,
        /// `FunctionResponseTypes` holds `ReportBatchItemFailures`: without it Lambda ignores the
        /// failures a function reports and takes the batch as processed.
        report_item_failures: bool,
        on_failure: Option<String>,
    },
    /// A `Schedule` event with a `rate(...)` expression, and the rule SAM generates for it.
    Schedule { every_seconds: u64, rule: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub queue: String,
    pub max_receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub visibility_timeout_seconds: u32,
    pub dead_letter: Option<DeadLetter>,
}

/// An `AWS::Events::Rule` whose targets are queues (moto delivers to SQS targets only).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub logical_id: String,
    pub bus: String,
    pub pattern: serde_json::Value,
    pub target_queues: Vec<String>,
}

/// An `AWS::Pipes::Pipe` from the table's stream to a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct PipeSpec {
    pub logical_id: String,
    /// A record passes if it matches any of these EventBridge patterns.
    pub filters: Vec<serde_json::Value>,
    pub target_queue: String,
    /// `<$.path>` placeholders are replaced from the record.
    pub input_template: Option<String>,
    /// The `AWS::IAM::Role` the pipe runs as.
    pub role: Option<String>,
    /// Where records that fail every retry go (`DynamoDBStreamParameters.DeadLetterConfig`).
    pub dead_letter_queue: Option<String>,
}

/// The value of a function's environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// `!Ref` of a resource: its name, URL or ARN, whichever `Ref` gives for its type.
    Resource(String),
    /// `!Ref` of a template parameter: supplied at deploy time (offline, from the environment).
    Parameter(String),
    /// Any other intrinsic (`!Sub`, `!GetAtt`, ...), resolved as a resource property is.
    Intrinsic(crate::Expr),
}

fn shape(message: String) -> TemplateError {
    TemplateError::Shape(message)
}

fn number(value: &Value, key: &str, default: u64) -> u64 {
    get(value, key).and_then(Value::as_u64).unwrap_or(default)
}

fn small(value: &Value, key: &str, default: u32) -> u32 {
    u32::try_from(number(value, key, u64::from(default))).unwrap_or(default)
}

fn as_json(value: &Value) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// `rate(5 minutes)` → 300.
fn rate_seconds(expression: &str) -> Option<u64> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (amount, unit) = inner.split_once(' ')?;
    let amount: u64 = amount.parse().ok()?;
    let unit_seconds = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    Some(amount * unit_seconds)
}

/// A function's `Schedule` events. Other events than these and its routes are refused: queues and
/// streams are mapped with `AWS::Lambda::EventSourceMapping`, because for an `SQS` or `DynamoDB`
/// event SAM attaches a managed policy that may poll every queue or read every stream.
fn schedules(function: &str, events: Option<&Value>) -> Result<Vec<Trigger>, TemplateError> {
    let declared = events.and_then(Value::as_mapping).into_iter().flatten();
    let mut schedules = Vec::new();
    for (name, event) in declared {
        let props = get(event, "Properties").cloned().unwrap_or_default();
        match text(event, "Type").unwrap_or_default().as_str() {
            "HttpApi" => {}
            "Schedule" => {
                let expression = text(&props, "Schedule").unwrap_or_default();
                let every_seconds = rate_seconds(&expression).ok_or_else(|| {
                    shape(format!("{function}: the offline stack runs only rate(...) schedules, not {expression:?}"))
                })?;
                let rule = crate::schedule_rule(function, name.as_str().unwrap_or_default());
                schedules.push(Trigger::Schedule {
                    every_seconds,
                    rule,
                });
            }
            other => {
                return Err(shape(format!(
                    "{function}: an event of type {other:?}; map queues and streams with an AWS::Lambda::EventSourceMapping"
                )))
            }
        }
    }
    Ok(schedules)
}

impl Template {
    /// What invokes `function` besides its routes: its `Schedule` events and the event source
    /// mappings whose `FunctionName` names it.
    pub(crate) fn triggers(
        &self,
        function: &str,
        events: Option<&Value>,
    ) -> Result<Vec<Trigger>, TemplateError> {
        let mut triggers = schedules(function, events)?;
        for (id, mapping) in self.resources_of_type("AWS::Lambda::EventSourceMapping") {
            let props = get(mapping, "Properties").cloned().unwrap_or_default();
            if get(&props, "FunctionName")
                .and_then(referenced_id)
                .as_deref()
                == Some(function)
            {
                triggers.push(self.mapping(&id, &props)?);
            }
        }
        Ok(triggers)
    }

    /// An event source mapping from one of the template's queues or from the table's stream.
    fn mapping(&self, id: &str, props: &Value) -> Result<Trigger, TemplateError> {
        let is = |source: &str, kind: &str| {
            self.resource(source)
                .and_then(|r| text(r, "Type"))
                .is_some_and(|t| t == kind)
        };
        match get(props, "EventSourceArn").and_then(Expr::parse) {
            Some(Expr::GetAtt(queue, attribute))
                if attribute == "Arn" && is(&queue, "AWS::SQS::Queue") =>
            {
                Ok(Trigger::Queue {
                    queue,
                    batch_size: small(props, "BatchSize", 10),
                    max_concurrency: get(props, "ScalingConfig")
                        .map_or(1000, |s| small(s, "MaximumConcurrency", 1000)),
                })
            }
            Some(Expr::GetAtt(table, attribute))
                if attribute == "StreamArn" && is(&table, "AWS::DynamoDB::Table") =>
            {
                Ok(Trigger::TableStream {
                    batch_size: small(props, "BatchSize", 100),
                    max_retries: get(props, "MaximumRetryAttempts")
                        .and_then(Value::as_i64)
                        .and_then(|n| u32::try_from(n).ok()),
                    bisect: get(props, "BisectBatchOnFunctionError")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    report_item_failures: list(props, "FunctionResponseTypes")
                        .iter()
                        .any(|t| t.as_str() == Some("ReportBatchItemFailures")),
                    on_failure: get(props, "DestinationConfig")
                        .and_then(|d| get(d, "OnFailure"))
                        .and_then(|o| get(o, "Destination"))
                        .and_then(referenced_id),
                })
            }
            _ => Err(shape(format!(
                "{id}: the offline stack maps only !GetAtt <queue>.Arn and !GetAtt <table>.StreamArn"
            ))),
        }
    }

    fn variables(&self, environment: Option<&Value>) -> Vec<(String, EnvValue)> {
        let declared = environment
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten();
        declared
            .filter_map(|(name, value)| {
                let value = match value {
                    Value::Tagged(_) => match crate::Expr::parse(value)? {
                        crate::Expr::Ref(_) => {
                            let id = referenced_id(value)?;
                            if self.parameter_names().any(|p| p == id) {
                                EnvValue::Parameter(id)
                            } else {
                                EnvValue::Resource(id)
                            }
                        }
                        other => EnvValue::Intrinsic(other),
                    },
                    Value::String(text) => EnvValue::Literal(text.clone()),
                    other => {
                        EnvValue::Literal(serde_yaml::to_string(other).ok()?.trim().to_owned())
                    }
                };
                Some((name.as_str()?.to_owned(), value))
            })
            .collect()
    }

    /// Each function's environment (the Globals' variables first, then its own).
    pub fn environment(&self, function: &str) -> Vec<(String, EnvValue)> {
        let globals = get(&self.globals, "Function")
            .and_then(|f| get(f, "Environment"))
            .cloned();
        let own = self
            .resources_of_type("AWS::Serverless::Function")
            .find(|(id, _)| id == function)
            .and_then(|(_, f)| {
                get(f, "Properties")
                    .and_then(|p| get(p, "Environment"))
                    .cloned()
            });
        let mut variables = self.variables(globals.as_ref());
        variables.extend(self.variables(own.as_ref()));
        variables
    }

    pub fn queues(&self) -> Vec<QueueSpec> {
        self.resources_of_type("AWS::SQS::Queue")
            .map(|(logical_id, queue)| {
                let props = get(queue, "Properties").cloned().unwrap_or_default();
                let dead_letter = get(&props, "RedrivePolicy").and_then(|redrive| {
                    Some(DeadLetter {
                        queue: referenced_id(get(redrive, "deadLetterTargetArn")?)?,
                        max_receive_count: small(redrive, "maxReceiveCount", 5),
                    })
                });
                QueueSpec {
                    logical_id,
                    visibility_timeout_seconds: small(&props, "VisibilityTimeout", 30),
                    dead_letter,
                }
            })
            .collect()
    }

    pub fn rules(&self) -> Result<Vec<RuleSpec>, TemplateError> {
        self.resources_of_type("AWS::Events::Rule")
            .map(|(logical_id, rule)| {
                let props = get(rule, "Properties").cloned().unwrap_or_default();
                let bad = |what: &str| shape(format!("rule {logical_id}: {what}"));
                Ok(RuleSpec {
                    bus: get(&props, "EventBusName")
                        .and_then(referenced_id)
                        .ok_or_else(|| bad("EventBusName must be !Ref of the bus"))?,
                    pattern: get(&props, "EventPattern")
                        .and_then(as_json)
                        .ok_or_else(|| bad("no EventPattern"))?,
                    target_queues: list(&props, "Targets")
                        .iter()
                        .map(|t| get(t, "Arn").and_then(referenced_id))
                        .collect::<Option<_>>()
                        .ok_or_else(|| bad("every target must be !GetAtt Queue.Arn"))?,
                    logical_id,
                })
            })
            .collect()
    }

    pub fn pipes(&self) -> Result<Vec<PipeSpec>, TemplateError> {
        self.resources_of_type("AWS::Pipes::Pipe")
            .map(|(logical_id, pipe)| {
                let props = get(pipe, "Properties").cloned().unwrap_or_default();
                let bad = |what: &str| shape(format!("pipe {logical_id}: {what}"));
                let filters = get(&props, "SourceParameters")
                    .and_then(|s| get(s, "FilterCriteria"))
                    .map(|f| list(f, "Filters"))
                    .unwrap_or_default()
                    .iter()
                    .map(|f| {
                        let pattern =
                            text(f, "Pattern").ok_or_else(|| bad("a filter without Pattern"))?;
                        serde_json::from_str(&pattern)
                            .map_err(|e| bad(&format!("a Pattern is not JSON: {e}")))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(PipeSpec {
                    filters,
                    target_queue: get(&props, "Target")
                        .and_then(referenced_id)
                        .ok_or_else(|| bad("Target must be !GetAtt Queue.Arn"))?,
                    input_template: get(&props, "TargetParameters")
                        .and_then(|t| text(t, "InputTemplate")),
                    role: get(&props, "RoleArn").and_then(referenced_id),
                    dead_letter_queue: get(&props, "SourceParameters")
                        .and_then(|s| get(s, "DynamoDBStreamParameters"))
                        .and_then(|d| get(d, "DeadLetterConfig"))
                        .and_then(|d| get(d, "Arn"))
                        .and_then(referenced_id),
                    logical_id,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template::parse(crate::EMBEDDED).expect("template.yaml parses")
    }

    #[test]
    fn rates_are_read_in_seconds_and_other_schedules_are_refused() {
        assert_eq!(rate_seconds("rate(1 minute)"), Some(60));
        assert_eq!(rate_seconds("rate(2 hours)"), Some(7200));
        assert_eq!(rate_seconds("cron(0 12 * * ? *)"), None);
        assert_eq!(rate_seconds("rate(five minutes)"), None);
    }

    #[test]
    fn the_order_hand_off_is_wired_from_the_stream_through_a_queue_to_the_starter() {
        let t = template();
        let pipe = &t.pipes().unwrap()[0];
        assert_eq!(pipe.target_queue, "OrderQueue");
        assert_eq!(pipe.filters[0]["eventName"], serde_json::json!(["INSERT"]));
        let order_queue = t
            .queues()
            .into_iter()
            .find(|q| q.logical_id == "OrderQueue")
            .unwrap();
        assert_eq!(
            order_queue.dead_letter.unwrap().queue,
            "OrderDeadLetterQueue"
        );
        let functions = t.functions().unwrap();
        let starter = functions
            .iter()
            .find(|f| f.logical_id == "StartCheckoutFunction")
            .unwrap();
        assert!(matches!(
            &starter.triggers[..],
            [Trigger::Queue { queue, max_concurrency, .. }] if queue == "OrderQueue" && *max_concurrency >= 2
        ));
    }

    #[test]
    fn event_source_mappings_trigger_the_functions_they_name() {
        let functions = template().functions().unwrap();
        let publisher = functions
            .iter()
            .find(|f| f.logical_id == "PublishEventsFunction")
            .unwrap();
        assert_eq!(
            publisher.triggers,
            [Trigger::TableStream {
                batch_size: 100,
                max_retries: Some(10),
                bisect: true,
                report_item_failures: true,
                on_failure: Some("UnpublishedChangesQueue".into())
            }]
        );
        let from_a_bus = "Resources:
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
  B:
    Type: AWS::Events::EventBus
  M:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {FunctionName: !Ref F, EventSourceArn: !GetAtt B.Arn}
";
        let refused = Template::parse(from_a_bus)
            .unwrap()
            .functions()
            .unwrap_err();
        assert!(refused
            .to_string()
            .contains("M: the offline stack maps only"));
        let sqs_event = "Resources:
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
    Properties:
      Events:
        Queued: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
";
        let refused = Template::parse(sqs_event).unwrap().functions().unwrap_err();
        assert!(refused.to_string().contains("F: an event of type \"SQS\""));
    }

    #[test]
    fn every_rule_targets_queues_that_have_dead_letter_queues() {
        let t = template();
        let queues = t.queues();
        let rules = t.rules().unwrap();
        assert!(!rules.is_empty());
        for rule in rules {
            assert_eq!(rule.bus, "EventBus");
            for target in &rule.target_queues {
                let queue = queues.iter().find(|q| &q.logical_id == target).unwrap();
                assert!(queue.dead_letter.is_some(), "{target} has no DLQ");
            }
        }
    }
}
