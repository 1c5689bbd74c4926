//! What DynamoDB publishes about a table without any code emitting it: `AWS/DynamoDB`
//! `ConsumedReadCapacityUnits` and `ConsumedWriteCapacityUnits` per `TableName`, which the cost
//! model prices as on-demand request units. Offline, the connector each function's SDK sends
//! through asks DynamoDB Local for the capacity of every data-plane call
//! (`ReturnConsumedCapacity: TOTAL`, unless the caller asked for its own) and records the answer.
//! The handler's code is unchanged: the SDK ignores a `ConsumedCapacity` it did not ask for.

use crate::metrics;
use aws_sdk_cloudwatch::types::StandardUnit;
use aws_smithy_runtime_api::client::{
    http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector},
    orchestrator::{HttpRequest, HttpResponse},
};
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;
use serde::Deserialize;

const FIELD: &[u8] = b"\"ReturnConsumedCapacity\"";

/// Which of the two metrics an operation's units count in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Units {
    Read,
    Write,
}

impl Units {
    /// The data-plane operations that take `ReturnConsumedCapacity`; control-plane and stream
    /// calls consume no request units.
    fn of(target: &str) -> Option<Self> {
        match target.strip_prefix("DynamoDB_20120810.")? {
            "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems" => Some(Self::Read),
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems" => {
                Some(Self::Write)
            }
            _ => None,
        }
    }

    fn metric(self) -> &'static str {
        match self {
            Self::Read => "ConsumedReadCapacityUnits",
            Self::Write => "ConsumedWriteCapacityUnits",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Capacity {
    table_name: String,
    capacity_units: f64,
}

/// A single-item call answers one `ConsumedCapacity`, a batch or transaction a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Consumed {
    One(Capacity),
    Many(Vec<Capacity>),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    consumed_capacity: Option<Consumed>,
}

/// The request's JSON body with `ReturnConsumedCapacity: TOTAL` as its first member, or `None`
/// when the caller already chose what to return (or the body is not a JSON object).
fn asking_for_capacity(body: &[u8]) -> Option<Vec<u8>> {
    let rest = body.strip_prefix(b"{")?;
    if body.windows(FIELD.len()).any(|w| w == FIELD) {
        return None;
    }
    let empty = rest.iter().all(|b| b.is_ascii_whitespace() || *b == b'}');
    let mut asked = br#"{"ReturnConsumedCapacity":"TOTAL""#.to_vec();
    if !empty {
        asked.push(b',');
    }
    asked.extend_from_slice(if empty { b"}" } else { rest });
    Some(asked)
}

/// Each table's units in a successful answer's body.
fn consumed(body: &[u8]) -> Vec<Capacity> {
    match serde_json::from_slice::<Answer>(body).map(|a| a.consumed_capacity) {
        Ok(Some(Consumed::One(one))) => vec![one],
        Ok(Some(Consumed::Many(many))) => many,
        _ => Vec::new(),
    }
}

fn record(units: Units, body: &[u8]) {
    for capacity in consumed(body) {
        let dimensions = [("TableName", capacity.table_name.as_str())];
        let (name, unit) = (units.metric(), StandardUnit::Count);
        metrics::observe(
            "AWS/DynamoDB",
            name,
            unit,
            capacity.capacity_units,
            &dimensions,
        );
    }
}

/// Reads the answer's body (the SDK would read it whole anyway), records its units, and hands on
/// the same bytes.
async fn metered(units: Units, mut response: HttpResponse) -> HttpResponse {
    if !response.status().is_success() {
        return response;
    }
    let Ok(collected) = response.take_body().collect().await else {
        return response;
    };
    let bytes = collected.to_bytes();
    record(units, &bytes);
    *response.body_mut() = SdkBody::from(bytes);
    response
}

/// An HTTP connector that records the capacity DynamoDB Local says each call consumed.
#[derive(Debug)]
pub struct Metered {
    pub inner: SharedHttpConnector,
}

impl HttpConnector for Metered {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        let units = request.headers().get("x-amz-target").and_then(Units::of);
        let Some(units) = units.filter(|_| metrics::collecting()) else {
            return self.inner.call(request);
        };
        // The body was signed before it reached the connector; DynamoDB Local does not check
        // the payload's hash, and in AWS this connector is not there.
        if let Some(asked) = request.body().bytes().and_then(asking_for_capacity) {
            let length = asked.len().to_string();
            *request.body_mut() = SdkBody::from(asked);
            request.headers_mut().insert("content-length", length);
        }
        let answer = self.inner.call(request);
        HttpConnectorFuture::new(async move { Ok(metered(units, answer.await?).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_the_total_first_and_keeps_the_rest() {
        let asked = asking_for_capacity(br#"{"TableName":"t","Key":{}}"#).unwrap();
        assert_eq!(
            String::from_utf8(asked).unwrap(),
            r#"{"ReturnConsumedCapacity":"TOTAL","TableName":"t","Key":{}}"#
        );
        let empty = asking_for_capacity(b"{}").unwrap();
        assert_eq!(empty, br#"{"ReturnConsumedCapacity":"TOTAL"}"#);
    }

    #[test]
    fn leaves_a_callers_own_choice_alone() {
        let body = br#"{"TableName":"t","ReturnConsumedCapacity":"INDEXES"}"#;
        assert_eq!(asking_for_capacity(body), None);
        assert_eq!(asking_for_capacity(b"not json"), None);
    }

    #[test]
    fn reads_one_or_many_tables_units() {
        let one =
            consumed(br#"{"Item":{},"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}"#);
        assert_eq!(one.len(), 1);
        assert_eq!(
            (one[0].table_name.as_str(), one[0].capacity_units),
            ("t", 0.5)
        );
        let many = consumed(
            br#"{"ConsumedCapacity":[{"TableName":"a","CapacityUnits":2},{"TableName":"b","CapacityUnits":4}]}"#,
        );
        let total: f64 = many.iter().map(|c| c.capacity_units).sum();
        assert_eq!((many.len(), total), (2, 6.0));
        assert!(consumed(br#"{"Item":{}}"#).is_empty());
    }

    #[test]
    fn counts_data_plane_calls_only() {
        assert_eq!(Units::of("DynamoDB_20120810.GetItem"), Some(Units::Read));
        assert_eq!(
            Units::of("DynamoDB_20120810.TransactWriteItems"),
            Some(Units::Write)
        );
        assert_eq!(Units::of("DynamoDB_20120810.DescribeTable"), None);
        assert_eq!(Units::of("DynamoDBStreams_20120810.GetRecords"), None);
        assert_eq!(Units::of("AmazonSQS.SendMessage"), None);
    }
}
