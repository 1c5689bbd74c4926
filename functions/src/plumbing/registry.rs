//! The kinds of function, by the event each takes: a type for each (`Http<D>`: a route whose
//! handler is built from dependencies `D`) and `Handler`, any function whatever its dependencies,
//! for the offline runtime. The functions themselves are declared in `deployed`.

use crate::{
    authorizer::{AuthorizerRequest, SimpleResponse},
    function::{Function, Instantiate},
    handoff::{HandoffError, SweepReport},
    saga::{SagaInput, StepResult},
};
use aws_lambda_events::{
    dynamodb,
    sqs::{SqsBatchResponse, SqsEvent},
    streams::DynamoDbEventResponse,
};
use cartwheel_http::ApiResult;
use lambda_http::Request;
use serde_json::Value;

/// An HTTP API route (payload format 2.0).
pub type Http<D> = Function<D, Request, ApiResult>;
/// The HTTP API's Lambda authorizer (simple responses).
pub type Authorizer<D> = Function<D, AuthorizerRequest, SimpleResponse<Value>>;
/// A step of the checkout saga, invoked by Step Functions.
pub type Step<D> = Function<D, SagaInput, StepResult>;
/// An SQS queue's consumer (batches, partial batch failures).
pub type Queue<D> = Function<D, SqsEvent, SqsBatchResponse>;
/// The table stream's consumer.
pub type Stream<D> = Function<D, dynamodb::Event, DynamoDbEventResponse>;
/// Invoked on a schedule with the scheduled event.
pub type Schedule<D> = Function<D, Value, Result<SweepReport, HandoffError>>;

/// A function by the kind of event it takes.
#[derive(Clone, Copy)]
pub enum Handler {
    Http(&'static dyn Instantiate<Request, ApiResult>),
    Authorizer(&'static dyn Instantiate<AuthorizerRequest, SimpleResponse<Value>>),
    Step(&'static dyn Instantiate<SagaInput, StepResult>),
    Queue(&'static dyn Instantiate<SqsEvent, SqsBatchResponse>),
    Stream(&'static dyn Instantiate<dynamodb::Event, DynamoDbEventResponse>),
    Schedule(&'static dyn Instantiate<Value, Result<SweepReport, HandoffError>>),
}

impl Handler {
    pub fn name(self) -> &'static str {
        match self {
            Self::Http(f) => f.name(),
            Self::Authorizer(f) => f.name(),
            Self::Step(f) => f.name(),
            Self::Queue(f) => f.name(),
            Self::Stream(f) => f.name(),
            Self::Schedule(f) => f.name(),
        }
    }
}
