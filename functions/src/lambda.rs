//! Runs one function on the Lambda runtime: what every binary in `src/bin` calls with its own
//! function from `deployed`. Dependencies are built once, at cold start, from the environment.

use crate::{config::Env, deployed::HttpFunction, deps::Dependencies, function::Function};
use cartwheel_http::problem;
use lambda_http::{service_fn, Body, Request, Response};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{de::DeserializeOwned, Serialize};
use std::{convert::Infallible, fmt::Debug, time::Instant};

async fn cold_start<D: Dependencies, E: 'static, O: 'static>(
    function: &'static Function<D, E, O>,
) -> Result<crate::function::Invoke<E, O>, lambda_runtime::Error> {
    cartwheel_telemetry::init_logging();
    let sdk = D::aws_config().await;
    Ok(function.cold_start(&Env::from_process(), &sdk)?)
}

/// An HTTP API route: a handler error becomes its problem+json answer.
pub async fn run_http<D: Dependencies>(
    function: &'static HttpFunction<D>,
) -> Result<(), lambda_runtime::Error> {
    let invoke = cold_start(function).await?;
    lambda_http::run(service_fn(move |request: Request| {
        let response = invoke(request);
        async move {
            let started = Instant::now();
            let response: Response<Body> = response.await.unwrap_or_else(|e| problem(&e));
            cartwheel_telemetry::record_latency(function.name, started.elapsed());
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}

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
    aws_lambda_events::sqs::SqsBatchResponse,
    aws_lambda_events::streams::DynamoDbEventResponse,
    crate::authorizer::SimpleResponse<serde_json::Value>
);

/// Any other event: a queue batch, a stream batch, a saga step, a schedule, the authorizer.
pub async fn run<D, E, O>(function: &'static Function<D, E, O>) -> Result<(), lambda_runtime::Error>
where
    D: Dependencies,
    E: DeserializeOwned + Send + 'static,
    O: LambdaOutput + 'static,
{
    let invoke = cold_start(function).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let output = invoke(event.payload);
        async move { output.await.into_result() }
    }))
    .await
}
