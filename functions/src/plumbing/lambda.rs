//! Runs one function on the Lambda runtime: what every binary in `src/bin` calls with its own
//! function from `deployed`. Dependencies are built once, at cold start, from the environment.
//!
//! The runtime loop for each kind of event is compiled here, once, in non-generic code; a binary
//! only instantiates its function's cold start. Serving from generic code would make every one of
//! the 50 binaries compile the Lambda runtime, hyper and the event's serde code again at release
//! opt-levels, which was most of `sam build`'s time.

use crate::{
    authorizer::{AuthorizerRequest, SimpleResponse},
    config::Env,
    deps::Dependencies,
    function::{Function, Gate, Invoke},
    handoff::{HandoffError, SweepReport},
    saga::{SagaInput, StepResult},
};
use aws_lambda_events::{
    dynamodb,
    sqs::{SqsBatchResponse, SqsEvent},
    streams::DynamoDbEventResponse,
};
use cartwheel_http::{problem, ApiResult};
use futures::future::LocalBoxFuture;
use lambda_http::{service_fn, Body, Request, Response};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::{convert::Infallible, fmt::Debug};

/// Not `Send`: the runtime loop runs on the binary's main task, never moved.
type Served = LocalBoxFuture<'static, Result<(), lambda_runtime::Error>>;

/// Cold-starts the function, then serves its events until the runtime stops it.
pub async fn run<D: Dependencies, E: Event<O> + Gate<O>, O: 'static>(
    function: &'static Function<D, E, O>,
) -> Result<(), lambda_runtime::Error> {
    cartwheel_telemetry::init_logging();
    unset_empty_endpoints();
    let sdk = D::aws_config().await;
    let invoke = function.cold_start(&Env::from_process(), &sdk).await?;
    E::serve(invoke).await
}

/// template.yaml declares the endpoint variables with empty values, so that `sam local invoke` may
/// set them; empty means unset, which the SDK would otherwise log as an invalid URL.
fn unset_empty_endpoints() {
    for (name, value) in std::env::vars() {
        if name.starts_with("AWS_ENDPOINT_URL") && value.is_empty() {
            std::env::remove_var(name);
        }
    }
}

/// A kind of event a deployed function takes, with the runtime loop that serves it.
pub trait Event<O>: Sized + 'static {
    fn serve(invoke: Invoke<Self, O>) -> Served;
}

/// An HTTP API route: a handler error becomes its problem+json answer.
impl Event<ApiResult> for Request {
    fn serve(invoke: Invoke<Self, ApiResult>) -> Served {
        Box::pin(lambda_http::run(service_fn(move |request: Request| {
            let response = invoke(request);
            async move {
                let response: Response<Body> = response.await.unwrap_or_else(|e| problem(&e));
                Ok::<_, Infallible>(response)
            }
        })))
    }
}

/// Any other event: the answer is serialised, or the error reported to Lambda by its type.
async fn serve<E, O>(invoke: Invoke<E, O>) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: LambdaOutput + 'static,
{
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let output = invoke(event.payload);
        async move { output.await.into_result() }
    }))
    .await
}

macro_rules! events {
    ($($event:ty => $output:ty),* $(,)?) => {$(
        impl Event<$output> for $event {
            fn serve(invoke: Invoke<Self, $output>) -> Served {
                Box::pin(serve(invoke))
            }
        }
        impl Gate<$output> for $event {}
    )*};
}
events!(
    AuthorizerRequest => SimpleResponse<Value>,
    SagaInput => StepResult,
    SqsEvent => SqsBatchResponse,
    dynamodb::Event => DynamoDbEventResponse,
    Value => Result<SweepReport, HandoffError>,
);

/// What a handler's result means to Lambda: an answer, or an error it reports by type.
pub trait LambdaOutput: Send {
    type Answer: Serialize;
    type Failure: Into<Diagnostic> + Debug;
    fn into_result(self) -> Result<Self::Answer, Self::Failure>;
}

impl<T: Serialize + Send, E: Into<Diagnostic> + Debug + Send> LambdaOutput for Result<T, E> {
    type Answer = T;
    type Failure = E;
    fn into_result(self) -> Self {
        self
    }
}

macro_rules! always_answers {
    ($($answer:ty),*) => {$(
        impl LambdaOutput for $answer {
            type Answer = Self;
            type Failure = Diagnostic;
            fn into_result(self) -> Result<Self, Diagnostic> {
                Ok(self)
            }
        }
    )*};
}
always_answers!(
    SqsBatchResponse,
    DynamoDbEventResponse,
    SimpleResponse<Value>
);
