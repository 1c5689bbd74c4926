//! What an AWS request asks to do, in IAM's terms: the actions and resources it needs, read from
//! the JSON protocol's `X-Amz-Target` and body as AWS authorizes them (a transaction needs each
//! item's own action; a batch needs the single-message action), or for a REST protocol (SESv2)
//! from its method and path.

use crate::arns::ArnScheme;
use serde::{de::IgnoredAny, Deserialize};
use serde_json::Value;
use std::{borrow::Cow, collections::HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub resource: String,
}

fn call(action: String, resource: String) -> Call {
    Call { action, resource }
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// What IAM reads of a DynamoDB request: its table (and index), a batch's tables, a transaction's
/// items. Read into this shape, the rest of the body (an item's attributes, an expression's
/// values) is skipped, not built: the check runs on every call a function makes.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DynamoDbRequest<'a> {
    #[serde(borrow)]
    table_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    index_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    request_items: Option<HashMap<Cow<'a, str>, IgnoredAny>>,
    #[serde(borrow)]
    transact_items: Option<Vec<HashMap<Cow<'a, str>, TransactItem<'a>>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactItem<'a> {
    #[serde(borrow)]
    table_name: Option<Cow<'a, str>>,
}

fn dynamodb(operation: &str, body: &[u8], arns: &ArnScheme) -> Vec<Call> {
    let action = |op: &str| format!("dynamodb:{op}");
    // A body not of DynamoDB's shape asks for the action on every resource, which no policy of
    // Cartwheel's grants; the SDK never sends one.
    let Ok(body) = serde_json::from_slice::<DynamoDbRequest>(body) else {
        return vec![call(action(operation), "*".to_owned())];
    };
    match operation {
        "TransactWriteItems" | "TransactGetItems" => (body.transact_items.into_iter().flatten())
            .filter_map(|item| {
                let (kind, spec) = item.into_iter().next()?;
                let op = match kind.as_ref() {
                    "ConditionCheck" => "ConditionCheckItem",
                    "Put" => "PutItem",
                    "Delete" => "DeleteItem",
                    "Update" => "UpdateItem",
                    _ => "GetItem",
                };
                Some(call(action(op), arns.table(&spec.table_name?)))
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => (body.request_items.into_iter())
            .flat_map(HashMap::into_keys)
            .map(|table| call(action(operation), arns.table(&table)))
            .collect(),
        _ => {
            let resource = match (body.table_name, body.index_name) {
                (Some(table), Some(index)) => format!("{}/index/{index}", arns.table(&table)),
                (Some(table), None) => arns.table(&table),
                (None, _) => "*".to_owned(),
            };
            vec![call(action(operation), resource)]
        }
    }
}

/// A stream's records are read by iterator; DynamoDB's iterators begin with the stream's ARN.
fn stream(operation: &str, body: &Value) -> Vec<Call> {
    let resource = text(body, "StreamArn")
        .or_else(|| text(body, "ShardIterator").and_then(|i| i.split('|').next()))
        .filter(|r| r.starts_with("arn:"))
        .unwrap_or("*");
    vec![call(format!("dynamodb:{operation}"), resource.to_owned())]
}

fn sqs(operation: &str, body: &Value, arns: &ArnScheme) -> Vec<Call> {
    let action = operation.strip_suffix("Batch").unwrap_or(operation);
    let resource = text(body, "QueueUrl")
        .map(|url| arns.queue(url))
        .or_else(|| {
            text(body, "QueueName")
                .map(|name| format!("arn:aws:sqs:{}:{}:{name}", arns.region, arns.account))
        })
        .unwrap_or_else(|| "*".to_owned());
    vec![call(format!("sqs:{action}"), resource)]
}

fn events(operation: &str, body: &Value, arns: &ArnScheme) -> Vec<Call> {
    let mut buses: Vec<String> = match body["Entries"].as_array() {
        Some(entries) if operation == "PutEvents" => entries
            .iter()
            .map(|e| arns.bus(text(e, "EventBusName")))
            .collect(),
        _ => vec![arns.bus(text(body, "EventBusName").or(text(body, "Name")))],
    };
    buses.sort();
    buses.dedup();
    buses
        .into_iter()
        .map(|bus| call(format!("events:{operation}"), bus))
        .collect()
}

/// IAM authorizes a secret by its full ARN, random suffix included, however the request names it:
/// a policy written for the name alone (no `-??????`) allows nothing in AWS, nor here.
fn secrets(operation: &str, body: &Value, arns: &ArnScheme) -> Vec<Call> {
    let resource = match text(body, "SecretId") {
        Some(arn) if arn.starts_with("arn:") => arn.to_owned(),
        Some(name) => arns.secrets.get(name).cloned().unwrap_or_else(|| {
            format!(
                "arn:aws:secretsmanager:{}:{}:secret:{name}",
                arns.region, arns.account
            )
        }),
        None => "*".to_owned(),
    };
    vec![call(format!("secretsmanager:{operation}"), resource)]
}

fn states(operation: &str, body: &Value) -> Vec<Call> {
    let resource = text(body, "stateMachineArn")
        .or_else(|| text(body, "executionArn"))
        .unwrap_or("*");
    vec![call(format!("states:{operation}"), resource.to_owned())]
}

/// SESv2 authorizes sending on the identity the mail is from: the address, as Cartwheel verifies
/// an address identity (an account that verified the domain instead grants `identity/<domain>`).
fn ses_send(body: &Value, arns: &ArnScheme) -> Vec<Call> {
    let from = text(body, "FromEmailAddress").unwrap_or("*");
    // "Name <address>" sends from the address.
    let address = from
        .rsplit_once('<')
        .map_or(from, |(_, rest)| rest.trim_end_matches('>'));
    let resource = format!(
        "arn:aws:ses:{}:{}:identity/{address}",
        arns.region, arns.account
    );
    vec![call("ses:SendEmail".into(), resource)]
}

/// API Gateway's management API authorizes a message by the connection it goes to:
/// `<api>/<stage>/POST/@connections/<id>`, the API's id being the host's first label.
fn manage_connection(operation: &Operation<'_>, arns: &ArnScheme) -> Option<Vec<Call>> {
    let api = operation.host.split_once(".execute-api.")?.0;
    let (stage, connection) = operation
        .path
        .trim_start_matches('/')
        .split_once("/@connections/")?;
    let resource = format!(
        "arn:aws:execute-api:{}:{}:{api}/{stage}/{}/@connections/{connection}",
        arns.region, arns.account, operation.method
    );
    Some(vec![call("execute-api:ManageConnections".into(), resource)])
}

/// A REST request, known by its method, host and path.
fn rest(operation: &Operation<'_>, body: &Value, arns: &ArnScheme) -> Vec<Call> {
    match (operation.method, operation.path) {
        ("POST", "/v2/email/outbound-emails") => ses_send(body, arns),
        _ => manage_connection(operation, arns)
            .unwrap_or_else(|| vec![call("unknown:Unclassified".into(), "*".into())]),
    }
}

/// What a request is: its `X-Amz-Target` (JSON protocols), or its method, host and path (REST).
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub target: Option<&'a str>,
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
}

/// The calls a request makes; an unknown service is one call on `*` that no Cartwheel policy grants.
pub fn calls(operation: Operation<'_>, body: &[u8], arns: &ArnScheme) -> Vec<Call> {
    let target = operation.target.and_then(|t| t.split_once('.'));
    if let Some(("DynamoDB_20120810", operation)) = target {
        return dynamodb(operation, body, arns);
    }
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some((service, operation)) = target else {
        return rest(&operation, &body, arns);
    };
    match service {
        "DynamoDBStreams_20120810" => stream(operation, &body),
        "AmazonSQS" => sqs(operation, &body, arns),
        "AWSEvents" => events(operation, &body, arns),
        "AWSStepFunctions" => states(operation, &body),
        "secretsmanager" => secrets(operation, &body, arns),
        other => vec![call(format!("{other}:{operation}"), "*".into())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn arns() -> ArnScheme {
        ArnScheme {
            table_prefix: "arn:aws:dynamodb:ddblocal:000000000000:table/".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            queues: HashMap::new(),
            secrets: HashMap::from([(
                "k".into(),
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf".into(),
            )]),
        }
    }

    fn of(target: &str, body: Value) -> Vec<(String, String)> {
        let operation = Operation {
            target: Some(target),
            method: "POST",
            host: "h",
            path: "/",
        };
        calls(operation, body.to_string().as_bytes(), &arns())
            .into_iter()
            .map(|c| (c.action, c.resource))
            .collect()
    }

    #[test]
    fn a_query_on_an_index_names_the_index() {
        assert_eq!(
            of(
                "DynamoDB_20120810.Query",
                json!({"TableName": "t", "IndexName": "GSI1"})
            ),
            vec![(
                "dynamodb:Query".into(),
                "arn:aws:dynamodb:ddblocal:000000000000:table/t/index/GSI1".into()
            )]
        );
    }

    /// The check reads a DynamoDB body into the fields it needs; one it cannot read that way
    /// (here a table that is not a name) is checked on every resource, never let through.
    #[test]
    fn a_dynamodb_body_of_another_shape_is_checked_on_every_resource() {
        assert_eq!(
            of(
                "DynamoDB_20120810.PutItem",
                json!({"TableName": 5, "Item": {}})
            ),
            vec![("dynamodb:PutItem".into(), "*".into())]
        );
        assert_eq!(
            of(
                "DynamoDB_20120810.GetItem",
                json!({"TableName": "t", "Key": {"PK": {"S": "x"}}})
            ),
            vec![(
                "dynamodb:GetItem".into(),
                "arn:aws:dynamodb:ddblocal:000000000000:table/t".into()
            )]
        );
    }

    #[test]
    fn a_transaction_needs_each_items_own_action() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "t"}}, {"Update": {"TableName": "t"}}
        ]});
        let actions: Vec<String> = of("DynamoDB_20120810.TransactWriteItems", body)
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        assert_eq!(
            actions,
            [
                "dynamodb:PutItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:UpdateItem"
            ]
        );
    }

    #[test]
    fn sqs_batches_need_the_single_action_on_the_queue() {
        assert_eq!(
            of(
                "AmazonSQS.SendMessageBatch",
                json!({"QueueUrl": "http://h/123456789012/q"})
            ),
            vec![(
                "sqs:SendMessage".into(),
                "arn:aws:sqs:us-east-1:123456789012:q".into()
            )]
        );
    }

    #[test]
    fn put_events_names_each_bus() {
        assert_eq!(
            of(
                "AWSEvents.PutEvents",
                json!({"Entries": [{"EventBusName": "b"}, {"EventBusName": "b"}]})
            ),
            vec![(
                "events:PutEvents".into(),
                "arn:aws:events:us-east-1:123456789012:event-bus/b".into()
            )]
        );
    }

    #[test]
    fn a_stream_iterator_names_its_stream() {
        let calls = of(
            "DynamoDBStreams_20120810.GetRecords",
            json!({"ShardIterator": "arn:s/stream/x|1|AAAA"}),
        );
        assert_eq!(
            calls,
            vec![("dynamodb:GetRecords".into(), "arn:s/stream/x".into())]
        );
    }

    #[test]
    fn a_secret_is_authorized_by_its_arn_whichever_way_it_is_named() {
        let by_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf";
        assert_eq!(
            of("secretsmanager.GetSecretValue", json!({"SecretId": by_arn})),
            vec![("secretsmanager:GetSecretValue".into(), by_arn.into())]
        );
        assert_eq!(
            of("secretsmanager.GetSecretValue", json!({"SecretId": "k"})),
            vec![("secretsmanager:GetSecretValue".into(), by_arn.into())],
            "by name, still its full ARN: a policy without the suffix does not match it"
        );
    }

    #[test]
    fn an_sesv2_send_needs_send_email_on_the_senders_identity() {
        let operation = Operation {
            target: None,
            method: "POST",
            host: "email.us-east-1.amazonaws.com",
            path: "/v2/email/outbound-emails",
        };
        let body = json!({"FromEmailAddress": "Cartwheel <orders@shop.example>"}).to_string();
        let calls: Vec<_> = calls(operation, body.as_bytes(), &arns())
            .into_iter()
            .map(|c| (c.action, c.resource))
            .collect();
        assert_eq!(
            calls,
            vec![(
                "ses:SendEmail".into(),
                "arn:aws:ses:us-east-1:123456789012:identity/orders@shop.example".into()
            )]
        );
        let other = Operation {
            path: "/v2/email/identities",
            ..operation
        };
        assert_eq!(calls_of(other)[0].0, "unknown:Unclassified");
    }

    #[test]
    fn a_push_needs_manage_connections_on_the_connection() {
        let operation = Operation {
            target: None,
            method: "POST",
            host: "abc123.execute-api.us-east-1.amazonaws.com",
            path: "/live/@connections/C1",
        };
        assert_eq!(
            calls_of(operation),
            vec![(
                "execute-api:ManageConnections".into(),
                "arn:aws:execute-api:us-east-1:123456789012:abc123/live/POST/@connections/C1"
                    .into()
            )]
        );
    }

    fn calls_of(operation: Operation<'_>) -> Vec<(String, String)> {
        calls(operation, b"{}", &arns())
            .into_iter()
            .map(|c| (c.action, c.resource))
            .collect()
    }
}
