//! One SDK configuration per principal, whose HTTP client checks each request against the
//! principal's policy before it is sent. A refused request is answered as AWS answers it (status,
//! headers and JSON body of `AccessDeniedException`), so the SDK's own deserializer hands the
//! handler exactly the error it would get in AWS. An interceptor could only fail a request with an
//! SDK-side error that AWS never returns; that is why the check sits in the HTTP client.

use super::{calls, ArnScheme, Operation, Principal};
use crate::capacity::Metered;
use aws_config::SdkConfig;
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
use serde_json::json;
use std::sync::Arc;

#[derive(Debug)]
struct Guard {
    inner: SharedHttpConnector,
    principal: Arc<Principal>,
    arns: Arc<ArnScheme>,
}

/// AWS's answer to a denied call of a REST protocol: 403, the error's type in a header.
fn rest_access_denied(message: String) -> HttpResponse {
    let body = json!({"message": message});
    let mut response = HttpResponse::new(
        StatusCode::try_from(403).expect("a valid status"),
        SdkBody::from(body.to_string()),
    );
    let headers = response.headers_mut();
    headers.insert("content-type", "application/json");
    headers.insert("x-amzn-errortype", "AccessDeniedException");
    headers.insert("x-amzn-requestid", ulid::Ulid::new().to_string());
    response
}

/// AWS's answer to a denied call, per protocol: SQS says 403 and its query-compatible code.
fn access_denied(target: Option<&str>, message: String) -> HttpResponse {
    let Some(target) = target else {
        return rest_access_denied(message);
    };
    let sqs = target.starts_with("AmazonSQS.");
    let status = if sqs { 403 } else { 400 };
    let body =
        json!({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message});
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::from(body.to_string()),
    );
    let headers = response.headers_mut();
    headers.insert("content-type", "application/x-amz-json-1.0");
    headers.insert("x-amzn-requestid", ulid::Ulid::new().to_string());
    if sqs {
        headers.insert("x-amzn-query-error", "AccessDenied;Sender");
    }
    response
}

/// The host and path of a request's URI (`http://host:port/path?query`).
fn host_and_path(uri: &str) -> (&str, &str) {
    let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let (host, path) = after_scheme
        .find('/')
        .map_or((after_scheme, "/"), |start| after_scheme.split_at(start));
    (host, path.split('?').next().unwrap_or(path))
}

impl HttpConnector for Guard {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target");
        let (host, path) = host_and_path(request.uri());
        let operation = Operation {
            target,
            method: request.method(),
            host,
            path,
        };
        let body = request.body().bytes().unwrap_or_default();
        let denied = calls(operation, body, &self.arns)
            .iter()
            .find_map(|call| self.principal.check(call).err());
        if let Some(denied) = denied {
            return HttpConnectorFuture::ready(Ok(access_denied(target, denied.to_string())));
        }
        // API Gateway's management API of an offline WebSocket API is answered in process.
        if let Some(answer) =
            crate::ws_management::management_answer(request.method(), request.uri(), body)
        {
            return HttpConnectorFuture::ready(Ok(answer));
        }
        self.inner.call(request)
    }
}

/// `base` with an HTTP client that lets through only what `principal` may do.
pub fn sandboxed_sdk(
    base: &SdkConfig,
    principal: Arc<Principal>,
    arns: Arc<ArnScheme>,
) -> SdkConfig {
    // The emulators speak plain HTTP; one pooled client per principal, as each function has its own.
    // Inside the policy check, DynamoDB's consumed capacity is recorded as AWS records it.
    let inner = base
        .http_client()
        .unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
    let client = http_client_fn(move |settings, components| {
        let metered = Metered {
            inner: inner.http_connector(settings, components),
        };
        SharedHttpConnector::new(Guard {
            inner: SharedHttpConnector::new(metered),
            principal: Arc::clone(&principal),
            arns: Arc::clone(&arns),
        })
    });
    base.to_builder().http_client(client).build()
}
