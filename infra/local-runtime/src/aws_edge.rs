//! The AWS endpoint that moto's Step Functions engine calls (`http://localhost:$MOTO_PORT`):
//! Lambda Invoke runs the saga step's handler in process, exactly as Lambda would answer it;
//! every other call is passed through to moto itself on its own port.

use bytes::Bytes;
use cartwheel_functions::{
    registry::{self, Handler, StepHandler},
    saga::SagaInput,
    App,
};
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
/// `<stack>-<logical id>`, and each stack registers the App its handlers run with.
pub struct AwsEdge {
    steps: HashMap<String, StepHandler>,
    stacks: RwLock<HashMap<String, Arc<App>>>,
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
        let steps = registry::all()
            .into_iter()
            .filter_map(|(name, handler)| match handler {
                Handler::Step(step) => Some((name.to_owned(), step)),
                _ => None,
            })
            .collect();
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            steps,
            stacks: RwLock::new(HashMap::new()),
            moto: moto.into(),
            client,
        }
    }

    pub fn register(&self, stack: &str, app: Arc<App>) {
        if let Ok(mut stacks) = self.stacks.write() {
            stacks.insert(stack.to_owned(), app);
        }
    }

    fn target(&self, function: &str) -> Option<(StepHandler, Arc<App>)> {
        let (stack, logical_id) = function.rsplit_once('-')?;
        let step = self.steps.get(logical_id).copied()?;
        let app = self.stacks.read().ok()?.get(stack).cloned()?;
        Some((step, app))
    }

    pub async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return answer(StatusCode::BAD_REQUEST, "unreadable body", false),
        };
        match invoked_function(parts.uri.path()) {
            Some(function) => self.invoke(&function, &body).await,
            None => self.pass_to_moto(parts, body).await,
        }
    }

    async fn invoke(&self, function: &str, payload: &[u8]) -> Response<Full<Bytes>> {
        let Some((step, app)) = self.target(function) else {
            let body =
                json!({"Type": "User", "message": format!("Function not found: {function}")});
            return answer(StatusCode::NOT_FOUND, body.to_string(), false);
        };
        let input: SagaInput = match serde_json::from_slice(payload) {
            Ok(input) => input,
            Err(error) => {
                let body = json!({"errorType": "InvalidInput", "errorMessage": error.to_string()});
                return answer(StatusCode::OK, body.to_string(), true);
            }
        };
        let outcome = tokio::spawn(step(app, input)).await;
        match outcome {
            Ok(Ok(output)) => answer(
                StatusCode::OK,
                serde_json::to_vec(&output).unwrap_or_default(),
                false,
            ),
            Ok(Err(error)) => {
                let body =
                    json!({"errorType": error.error_type(), "errorMessage": error.to_string()});
                answer(StatusCode::OK, body.to_string(), true)
            }
            Err(_) => answer(
                StatusCode::OK,
                json!({"errorType": "Panic", "errorMessage": "the step panicked"}).to_string(),
                true,
            ),
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

/// Serves the edge on `listener` until the task is dropped.
pub async fn serve_edge(listener: TcpListener, edge: Arc<AwsEdge>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
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
    }
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
