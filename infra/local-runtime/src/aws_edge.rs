//! The AWS endpoint that moto's Step Functions engine calls (`http://localhost:$MOTO_PORT`):
//! Lambda Invoke runs the saga step in its sandbox, if the state machine's role may invoke it, and
//! answers exactly as Lambda would (a handled error, a timeout, a throttle, a denial). Step
//! Functions calls (`X-Amz-Target: AWSStepFunctions.*`, from clients whose
//! `AWS_ENDPOINT_URL_SFN` names the edge) are served by the offline engine (`states`); every
//! other call is passed through to moto itself on its own port.

use crate::{
    iam::Call,
    invocation::{InvokeStep, Invoked},
    sandbox::Failure,
    stack_functions::Functions,
    states,
};
use bytes::Bytes;
use cartwheel_functions::saga::SagaInput;
use http_body_util::{BodyExt, Full};
use hyper::{
    body::Incoming, server::conn::http1, service::service_fn, Request, Response, StatusCode,
};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::{TokioExecutor, TokioIo},
};
use serde_json::json;
use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, RwLock},
};
use tokio::net::TcpListener;

/// One edge serves every offline stack of the process: an offline function is named
/// `<stack>-<logical id>`, and each stack registers its deployed functions.
pub struct AwsEdge {
    stacks: RwLock<HashMap<String, Arc<Functions>>>,
    /// The offline Step Functions engine, for the calls that reach the edge.
    states: Arc<states::Engine>,
    moto: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

fn answer(
    status: StatusCode,
    body: impl Into<Bytes>,
    function_error: bool,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if function_error {
        response.headers_mut().insert(
            "x-amz-function-error",
            hyper::header::HeaderValue::from_static("Unhandled"),
        );
    }
    response
}

/// An error of the Lambda API itself (not of the function), as its REST protocol sends it.
fn aws_error(
    status: StatusCode,
    error_type: &'static str,
    body: serde_json::Value,
) -> Response<Full<Bytes>> {
    let mut response = answer(status, body.to_string(), false);
    response.headers_mut().insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(error_type),
    );
    response
}

/// The region a SigV4 `Authorization` header's credential scope names.
fn signed_region(headers: &hyper::HeaderMap) -> Option<&str> {
    let authorization = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split('/').nth(2)
}

/// The function a Lambda Invoke path names: `/2015-03-31/functions/<name or ARN>/invocations`.
fn invoked_function(path: &str) -> Option<String> {
    let name = path
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    Some(name.rsplit(':').next().unwrap_or(&name).to_owned())
}

impl AwsEdge {
    /// `moto` is moto's own base URL, such as `http://127.0.0.1:5001`.
    pub fn new(moto: impl Into<String>) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            stacks: RwLock::new(HashMap::new()),
            states: Arc::default(),
            moto: moto.into(),
            client,
        }
    }

    pub fn register(&self, stack: &str, functions: Arc<Functions>) {
        if let Ok(mut stacks) = self.stacks.write() {
            stacks.insert(stack.to_owned(), functions);
        }
    }

    fn target(&self, function: &str) -> Option<(Arc<Functions>, String)> {
        let (stack, logical_id) = function.rsplit_once('-')?;
        let functions = self.stacks.read().ok()?.get(stack).cloned()?;
        functions.get(logical_id)?;
        Some((functions, logical_id.to_owned()))
    }

    pub async fn handle(self: &Arc<Self>, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return answer(StatusCode::BAD_REQUEST, "unreadable body", false),
        };
        if let Some(operation) = states::api::operation(&parts.headers) {
            let region = signed_region(&parts.headers).unwrap_or("us-east-1");
            return states::api::handle(&self.states, self, &operation, region, &body);
        }
        match invoked_function(parts.uri.path()) {
            Some(function) => self.invoke(&function, &body).await,
            None => self.pass_to_moto(parts, body).await,
        }
    }

    async fn invoke(&self, function: &str, payload: &[u8]) -> Response<Full<Bytes>> {
        match self.invoke_step(function, payload).await {
            Invoked::Output(bytes) => answer(StatusCode::OK, bytes, false),
            Invoked::FunctionError {
                error_type,
                message,
            } => {
                let body = json!({"errorType": error_type, "errorMessage": message});
                answer(StatusCode::OK, body.to_string(), true)
            }
            Invoked::ApiError {
                status,
                error_type,
                body,
            } => aws_error(status, error_type, body),
        }
    }

    async fn pass_to_moto(
        &self,
        parts: hyper::http::request::Parts,
        body: Bytes,
    ) -> Response<Full<Bytes>> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let mut forward = Request::new(Full::new(body));
        *forward.method_mut() = parts.method;
        *forward.headers_mut() = parts.headers;
        forward.headers_mut().remove(hyper::header::HOST);
        match format!("{}{path}", self.moto).parse() {
            Ok(uri) => *forward.uri_mut() = uri,
            Err(_) => return answer(StatusCode::BAD_REQUEST, "bad path", false),
        }
        match self.client.request(forward).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                Response::from_parts(parts, Full::new(bytes))
            }
            Err(error) => answer(
                StatusCode::BAD_GATEWAY,
                format!("moto did not answer: {error}"),
                false,
            ),
        }
    }
}

/// Moto's engine reaches `invoke_step` through `invoke`; the offline engine (`states`) calls it
/// directly.
impl InvokeStep for AwsEdge {
    async fn invoke_step(&self, function: &str, payload: &[u8]) -> Invoked {
        let Some((functions, logical_id)) = self.target(function) else {
            let body =
                json!({"Type": "User", "Message": format!("Function not found: {function}")});
            return Invoked::api(StatusCode::NOT_FOUND, "ResourceNotFoundException", body);
        };
        let call = Call {
            action: "lambda:InvokeFunction".into(),
            resource: functions.arn(&logical_id),
        };
        if !functions.invokers.iter().any(|p| p.allows(&call)) {
            let denied = functions.invokers.first().map(|p| p.check(&call));
            let message = match denied {
                Some(Err(denied)) => denied.to_string(),
                _ => format!("no principal of the stack may invoke {function}"),
            };
            let body = json!({"Message": message});
            return Invoked::api(StatusCode::FORBIDDEN, "AccessDeniedException", body);
        }
        let Some(step) = functions.get(&logical_id) else {
            let body = json!({"Message": format!("Function not found: {function}")});
            return Invoked::api(StatusCode::NOT_FOUND, "ResourceNotFoundException", body);
        };
        let input: SagaInput = match serde_json::from_slice(payload) {
            Ok(input) => input,
            Err(error) => return Invoked::function_error("InvalidInput", error.to_string()),
        };
        match step.step(input).await {
            Ok(Ok(output)) => Invoked::Output(serde_json::to_vec(&output).unwrap_or_default()),
            Ok(Err(error)) => Invoked::function_error(error.error_type(), error.to_string()),
            Err(Failure::Throttled) => {
                let body = json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."});
                Invoked::api(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequestsException",
                    body,
                )
            }
            Err(failure) => {
                let message = format!("RequestId: {} Error: {failure}", ulid::Ulid::new());
                Invoked::function_error(failure.error_type(), message)
            }
        }
    }

    fn location_of(&self, name: &str) -> Option<(String, String)> {
        let (stack, _) = name.rsplit_once('-')?;
        let functions = self.stacks.read().ok()?.get(stack).cloned()?;
        Some((
            functions.resources.region.clone(),
            functions.resources.account.clone(),
        ))
    }
}

/// Serves the edge on `listener` until the task is dropped.
pub async fn serve_edge(listener: TcpListener, edge: Arc<AwsEdge>) -> std::io::Result<()> {
    crate::accept::accept_forever(listener, |stream, _| {
        let edge = Arc::clone(&edge);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let edge = Arc::clone(&edge);
                async move { Ok::<_, Infallible>(edge.handle(request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_paths_name_the_function_by_name_or_arn() {
        assert_eq!(
            invoked_function("/2015-03-31/functions/ReserveStockFunction/invocations").as_deref(),
            Some("ReserveStockFunction")
        );
        let arn = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3AConfirmOrderFunction/invocations";
        assert_eq!(
            invoked_function(arn).as_deref(),
            Some("ConfirmOrderFunction")
        );
        assert_eq!(invoked_function("/"), None);
    }
}
