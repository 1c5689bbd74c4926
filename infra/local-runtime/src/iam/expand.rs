//! A principal's policies as AWS attaches them: inline statements, SAM policy templates and AWS
//! managed policies expanded to their statements, and, for a function, the basic execution role
//! SAM adds. Its event source mappings poll with what its own `Policies` allow: SAM adds nothing
//! for an `AWS::Lambda::EventSourceMapping`.

use super::Statement;
use crate::resources::{ResolveError, Resources};
use cartwheel_template::{Expr, PolicyEntry, Template};

#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    #[error("{principal} uses the policy {policy}, which the offline stack does not know; add it to infra/local-runtime/src/iam/expand.rs")]
    UnknownPolicy { principal: String, policy: String },
    /// The cause is part of the message (the audit test reads it whole); a `ResolveError` has no
    /// cause of its own, so no chain is lost.
    #[error("{principal}: {cause}")]
    Unresolved {
        principal: String,
        cause: ResolveError,
    },
    #[error("{principal}: {reason}")]
    Unreadable { principal: String, reason: String },
    #[error("{principal}: {policy} takes one parameter")]
    Parameters { principal: String, policy: String },
    #[error("{principal} has a statement with the condition {condition}, which the offline stack does not evaluate (and will not ignore); see infra/local-runtime/src/iam/expand.rs")]
    UnsupportedCondition {
        principal: String,
        condition: String,
    },
}

fn statement(actions: &[&str], resources: Vec<String>) -> Statement {
    Statement::allow(actions.iter().map(|a| (*a).to_owned()).collect(), resources)
}

const LOGS: [&str; 3] = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
];

/// AWS managed policies Cartwheel's roles use (all on `*`).
fn managed(name: &str) -> Option<Vec<Statement>> {
    let everything = || vec!["*".to_owned()];
    match name.rsplit('/').next().unwrap_or(name) {
        "AWSLambdaBasicExecutionRole" => Some(vec![statement(&LOGS, everything())]),
        "AWSXrayWriteOnlyAccess" => Some(vec![statement(
            &[
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            everything(),
        )]),
        _ => None,
    }
}

/// SAM's policy templates (samtranslator's policy_templates.json) that Cartwheel uses.
fn sam_template(name: &str, parameter: &str, resources: &Resources) -> Option<Vec<Statement>> {
    let arn = |service: &str, rest: String| {
        format!(
            "arn:aws:{service}:{}:{}:{rest}",
            resources.region, resources.account
        )
    };
    let dynamodb_table = || {
        let table = format!("{}{parameter}", resources.arns.table_prefix);
        vec![format!("{table}/index/*"), table]
    };
    Some(match name {
        "StepFunctionsExecutionPolicy" => vec![statement(
            &["states:StartExecution"],
            vec![arn("states", format!("stateMachine:{parameter}"))],
        )],
        "SQSSendMessagePolicy" => vec![statement(
            &["sqs:SendMessage*"],
            vec![arn("sqs", parameter.to_owned())],
        )],
        "SQSPollerPolicy" => vec![statement(
            &[
                "sqs:ChangeMessageVisibility",
                "sqs:ChangeMessageVisibilityBatch",
                "sqs:DeleteMessage",
                "sqs:DeleteMessageBatch",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            vec![arn("sqs", parameter.to_owned())],
        )],
        "EventBridgePutEventsPolicy" => vec![statement(
            &["events:PutEvents"],
            vec![arn("events", format!("event-bus/{parameter}"))],
        )],
        "LambdaInvokePolicy" => vec![statement(
            &["lambda:InvokeFunction"],
            vec![arn("lambda", format!("function:{parameter}*"))],
        )],
        "DynamoDBReadPolicy" => vec![statement(
            &[
                "dynamodb:GetItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
            ],
            dynamodb_table(),
        )],
        "DynamoDBCrudPolicy" => vec![statement(
            &[
                "dynamodb:GetItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
                "dynamodb:ConditionCheckItem",
            ],
            dynamodb_table(),
        )],
        _ => return None,
    })
}

fn expand(
    principal: &str,
    entries: &[PolicyEntry],
    resources: &Resources,
) -> Result<Vec<Statement>, ExpandError> {
    let unresolved = |cause: ResolveError| ExpandError::Unresolved {
        principal: principal.to_owned(),
        cause,
    };
    let unknown = |policy: &str| ExpandError::UnknownPolicy {
        principal: principal.to_owned(),
        policy: policy.to_owned(),
    };
    let mut statements = Vec::new();
    for entry in entries {
        match entry {
            PolicyEntry::Managed(name) => {
                let name = resources.resolve(name).map_err(unresolved)?;
                statements.extend(managed(&name).ok_or_else(|| unknown(&name))?)
            }
            PolicyEntry::Unreadable(reason) => {
                return Err(ExpandError::Unreadable {
                    principal: principal.to_owned(),
                    reason: reason.clone(),
                })
            }
            PolicyEntry::SamTemplate { name, parameters } => {
                let parameter = match parameters.as_slice() {
                    [(_, value)] => resources.resolve(value).map_err(unresolved)?,
                    [] => String::new(),
                    _ => {
                        return Err(ExpandError::Parameters {
                            principal: principal.to_owned(),
                            policy: name.clone(),
                        })
                    }
                };
                statements.extend(
                    sam_template(name, &parameter, resources).ok_or_else(|| unknown(name))?,
                );
            }
            PolicyEntry::Statements(declared) => {
                for s in declared {
                    // Cartwheel's identity policies name no condition keys; one that did would
                    // be granted more offline than in AWS if its condition were skipped.
                    if let Some(condition) = s.conditions.first() {
                        return Err(ExpandError::UnsupportedCondition {
                            principal: principal.to_owned(),
                            condition: condition.clone(),
                        });
                    }
                    let resources = s
                        .resources
                        .iter()
                        .map(|r| resources.resolve(r))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(unresolved)?;
                    statements.push(Statement {
                        effect: s.effect,
                        actions: s.actions.clone(),
                        not_action: s.not_action,
                        resources,
                        not_resource: s.not_resource,
                    });
                }
            }
        }
    }
    Ok(statements)
}

/// A function's role as SAM builds it: the basic execution role and its declared `Policies`.
pub fn function_statements(
    template: &Template,
    function: &str,
    resources: &Resources,
) -> Result<Vec<Statement>, ExpandError> {
    let basic = Expr::Literal("AWSLambdaBasicExecutionRole".into());
    let mut entries = vec![PolicyEntry::Managed(basic)];
    entries.extend(template.policies(function));
    expand(function, &entries, resources)
}

/// Any other principal: a state machine's `Policies` or an IAM role's policies.
pub fn principal_statements(
    principal: &str,
    entries: &[PolicyEntry],
    resources: &Resources,
) -> Result<Vec<Statement>, ExpandError> {
    expand(principal, entries, resources)
}
