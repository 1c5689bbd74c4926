//! Wires one registry handler to the Lambda runtime: what every binary in `src/bin` calls.

use crate::{
    authorizer::authorize,
    registry::{self, Handler},
    saga::SagaInput,
    App,
};
use aws_lambda_events::{dynamodb, sqs::SqsEvent};
use cartwheel_http::problem;
use lambda_http::{
    aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request, service_fn, Body, Request,
    Response,
};
use lambda_runtime::LambdaEvent;
use std::{convert::Infallible, sync::Arc, time::Instant};

pub async fn run(function: &'static str) -> Result<(), lambda_runtime::Error> {
    cartwheel_telemetry::init_logging();
    let handler = registry::handler(function)
        .ok_or_else(|| format!("no handler is registered for {function}"))?;
    let app = Arc::new(App::from_env().await?);
    match handler {
        Handler::Http(handle) => {
            lambda_http::run(service_fn(move |request: Request| {
                let app = Arc::clone(&app);
                async move {
                    let started = Instant::now();
                    let response: Response<Body> =
                        handle(app, request).await.unwrap_or_else(|e| problem(&e));
                    cartwheel_telemetry::record_latency(function, started.elapsed());
                    Ok::<_, Infallible>(response)
                }
            }))
            .await
        }
        Handler::Step(step) => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SagaInput>| {
                let app = Arc::clone(&app);
                async move { step(app, event.payload).await }
            }))
            .await
        }
        Handler::Queue(consume) => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let app = Arc::clone(&app);
                async move { Ok::<_, Infallible>(consume(app, event.payload).await) }
            }))
            .await
        }
        Handler::Stream(consume) => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<dynamodb::Event>| {
                let app = Arc::clone(&app);
                async move { Ok::<_, Infallible>(consume(app, event.payload).await) }
            }))
            .await
        }
        Handler::Schedule(run_scheduled) => {
            lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
                run_scheduled(Arc::clone(&app))
            }))
            .await
        }
        Handler::Authorizer => {
            lambda_runtime::run(service_fn(
                move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| {
                    let app = Arc::clone(&app);
                    async move { Ok::<_, Infallible>(authorize(app.tokens().ok(), &event.payload)) }
                },
            ))
            .await
        }
    }
}
