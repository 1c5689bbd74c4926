//! A DynamoDB client that loses its next transactions to concurrent ones, as DynamoDB does under
//! contention and DynamoDB Local never does: it answers the first `n` TransactWriteItems with
//! AWS's own `TransactionCanceledException` (every item `TransactionConflict`) without sending
//! them, then lets everything through.

use aws_smithy_runtime_api::{
    client::{
        http::{
            http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
        },
        orchestrator::{HttpRequest, HttpResponse},
    },
    http::StatusCode,
};
use aws_smithy_types::body::SdkBody;
use cartwheel_store::Store;
use serde_json::{json, Value};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

#[derive(Debug)]
struct Conflicting {
    inner: SharedHttpConnector,
    left: Arc<AtomicUsize>,
}

fn conflict(items: usize) -> HttpResponse {
    let reasons: Vec<Value> = (0..items)
        .map(|_| json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}))
        .collect();
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
        "CancellationReasons": reasons,
    });
    let mut response = HttpResponse::new(
        StatusCode::try_from(400).expect("a valid status"),
        SdkBody::from(body.to_string()),
    );
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    response
}

impl HttpConnector for Conflicting {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let transaction =
            request.headers().get("x-amz-target") == Some("DynamoDB_20120810.TransactWriteItems");
        let take = |left: usize| left.checked_sub(1);
        if transaction
            && self
                .left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, take)
                .is_ok()
        {
            let body: Value = request
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default();
            let items = body["TransactItems"].as_array().map_or(1, Vec::len);
            return HttpConnectorFuture::ready(Ok(conflict(items)));
        }
        self.inner.call(request)
    }
}

/// A store on `table` whose next `conflicts` transactions lose to concurrent ones.
pub async fn store_losing(table: &str, conflicts: usize) -> Store {
    let sdk = super::aws::sdk_config_for(table).await;
    let left = Arc::new(AtomicUsize::new(conflicts));
    let base = aws_smithy_http_client::Builder::new().build_http();
    let client = http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Conflicting {
            inner: base.http_connector(settings, components),
            left: Arc::clone(&left),
        })
    });
    let sdk = sdk.to_builder().http_client(client).build();
    Store::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}
