//! Each function in its own sandbox, as Lambda runs it: exactly its environment from template.yaml,
//! an SDK configuration that holds it to its role's policy, its `Timeout` (a handler still running
//! is stopped and reported as Lambda reports it) and its `ReservedConcurrentExecutions`. Each
//! invocation gets Lambda's span (request id, trace id) and the `AWS/Lambda` metrics Lambda emits.

use crate::{iam::Principal, metrics};
use aws_config::SdkConfig;
use aws_lambda_events::{
    dynamodb,
    sqs::{SqsBatchResponse, SqsEvent},
    streams::DynamoDbEventResponse,
};
use aws_sdk_cloudwatch::types::StandardUnit;
use aws_smithy_types::error::display::DisplayErrorContext;
use cartwheel_functions::{
    authorizer::{AuthorizerRequest, SimpleResponse},
    handoff::{HandoffError, SweepReport},
    registry::Handler,
    saga::{SagaInput, StepResult},
    Env, Invoke,
};
use cartwheel_http::ApiResult;
use lambda_http::Request;
use serde_json::Value;
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::sync::Semaphore;
use tracing::Instrument;

/// Why an invocation did not produce the handler's answer, as Lambda reports it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    #[error("Task timed out after {seconds}.00 seconds")]
    TimedOut { seconds: u64 },
    #[error("Rate Exceeded.")]
    Throttled,
    /// The runtime process exits: its cold start failed before it took an event, or the
    /// invocation was cancelled under it.
    #[error("Runtime exited with error: {0}")]
    Init(String),
    /// The handler panicked. lambda_runtime catches the panic and reports it as an error of the
    /// invocation (the process lives on), named after the panic payload's type; the message is
    /// lambda_runtime's own ("Lambda panicked: <payload>").
    #[error("{0}")]
    Panicked(String),
}

impl Failure {
    /// Lambda's `errorType`, which Step Functions matches in `ErrorEquals`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::TimedOut { .. } => "Sandbox.Timedout",
            Self::Throttled => "TooManyRequestsException",
            Self::Init(_) => "Runtime.ExitError",
            // lambda_runtime 1.5 (layers/panic.rs): the type name of the `&Box<dyn Any + Send>`
            // its panic layer holds.
            Self::Panicked(_) => "&alloc::boxed::Box<dyn core::any::Any + core::marker::Send>",
        }
    }

    fn panicked(payload: Box<dyn std::any::Any + Send>) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|m| (*m).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        Self::Panicked(match message {
            Some(message) => format!("Lambda panicked: {message}"),
            None => "Lambda panicked".to_owned(),
        })
    }
}

/// How a caller waits for a free execution environment: API Gateway and Step Functions invoke
/// synchronously and are throttled; event sources poll again when the function has room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Synchronous,
    EventSource,
}

/// What AWS gives one function.
pub struct Sandbox {
    /// The logical id in template.yaml.
    pub function: String,
    /// The function's name in AWS (`FunctionName`), which its `AWS/Lambda` metrics carry.
    pub function_name: String,
    pub env: Env,
    pub principal: Arc<Principal>,
    pub sdk: SdkConfig,
    pub timeout: Duration,
    pub reserved_concurrency: Option<u32>,
}

enum Instance {
    Http(Invoke<Request, ApiResult>),
    Authorizer(Invoke<AuthorizerRequest, SimpleResponse<Value>>),
    Step(Invoke<SagaInput, StepResult>),
    Queue(Invoke<SqsEvent, SqsBatchResponse>),
    Stream(Invoke<dynamodb::Event, DynamoDbEventResponse>),
    Schedule(Invoke<Value, Result<SweepReport, HandoffError>>),
}

/// A function cold-started in its sandbox.
pub struct Deployed {
    pub sandbox: Sandbox,
    instance: Result<Instance, String>,
    limit: Option<Semaphore>,
    /// Invocations running now: Lambda's `ConcurrentExecutions`.
    running: AtomicUsize,
    /// Invocations still to fail by an injected fault (`inject_panics`).
    faults: AtomicUsize,
}

impl Deployed {
    /// Builds the handler's dependencies from the sandbox's environment and SDK configuration. A
    /// cold start that fails (a setting the function is not given) fails every invocation, as the
    /// runtime exits in AWS.
    pub async fn cold_start(handler: Handler, sandbox: Sandbox) -> Self {
        let (env, sdk) = (&sandbox.env, &sandbox.sdk);
        let instance = match handler {
            Handler::Http(f) => f.instantiate(env, sdk).await.map(Instance::Http),
            Handler::Authorizer(f) => f.instantiate(env, sdk).await.map(Instance::Authorizer),
            Handler::Step(f) => f.instantiate(env, sdk).await.map(Instance::Step),
            Handler::Queue(f) => f.instantiate(env, sdk).await.map(Instance::Queue),
            Handler::Stream(f) => f.instantiate(env, sdk).await.map(Instance::Stream),
            Handler::Schedule(f) => f.instantiate(env, sdk).await.map(Instance::Schedule),
        }
        .map_err(|error| {
            let error = DisplayErrorContext(&error).to_string();
            tracing::error!(function = %sandbox.function, %error, "the function's cold start failed");
            error
        });
        let limit = sandbox
            .reserved_concurrency
            .map(|n| Semaphore::new(usize::try_from(n).unwrap_or(usize::MAX)));
        Self {
            sandbox,
            instance,
            limit,
            running: AtomicUsize::new(0),
            faults: AtomicUsize::new(0),
        }
    }

    /// Makes the function's next `count` invocations panic in their handler, as AWS Fault
    /// Injection Service's `aws:lambda:invocation-error` makes invocations fail; the tests use it
    /// to crash a saga step.
    pub fn inject_panics(&self, count: usize) {
        self.faults.store(count, Ordering::SeqCst);
    }

    /// Whether this invocation is one an injected fault fails (and uses it up).
    fn take_fault(&self) -> bool {
        self.faults
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Why the cold start failed, with its cause chain; `None` if it succeeded.
    pub fn cold_start_error(&self) -> Option<&str> {
        self.instance.as_ref().err().map(String::as_str)
    }

    async fn call<E: Send + 'static, O: Send + 'static>(
        &self,
        select: impl FnOnce(&Instance) -> Option<Invoke<E, O>>,
        event: E,
        admission: Admission,
        is_error: fn(&O) -> bool,
    ) -> Result<O, Failure> {
        let instance = self
            .instance
            .as_ref()
            .map_err(|e| Failure::Init(e.clone()))?;
        let invoke = select(instance).ok_or_else(|| {
            Failure::Init(format!(
                "{} does not take this kind of event",
                self.sandbox.function
            ))
        })?;
        let _permit = match (&self.limit, admission) {
            (None, _) => None,
            (Some(limit), Admission::Synchronous) => Some(limit.try_acquire().map_err(|_| {
                self.observe("Throttles", StandardUnit::Count, 1.0);
                Failure::Throttled
            })?),
            (Some(limit), Admission::EventSource) => {
                Some(limit.acquire().await.map_err(|_| Failure::Throttled)?)
            }
        };
        let running = self.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.observe("ConcurrentExecutions", StandardUnit::Count, running as f64);
        let started = Instant::now();
        let handled = if self.take_fault() {
            Box::pin(async { panic!("injected fault: the handler crashed") })
        } else {
            invoke(event)
        };
        let outcome = self.run(handled).await;
        self.running.fetch_sub(1, Ordering::Relaxed);
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        self.observe("Invocations", StandardUnit::Count, 1.0);
        self.observe("Duration", StandardUnit::Milliseconds, duration_ms);
        let failed = outcome.as_ref().map_or(true, is_error);
        self.observe(
            "Errors",
            StandardUnit::Count,
            if failed { 1.0 } else { 0.0 },
        );
        outcome
    }

    /// Runs the handler in the span Lambda's runtime gives each invocation, within the timeout.
    async fn run<O: Send + 'static>(
        &self,
        handled: futures::future::BoxFuture<'static, O>,
    ) -> Result<O, Failure> {
        let span = tracing::info_span!(
            "Lambda runtime invoke",
            requestId = %request_id(),
            xrayTraceId = %trace_id()
        );
        let mut task = tokio::spawn(handled.instrument(span));
        match tokio::time::timeout(self.sandbox.timeout, &mut task).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(crashed)) => {
                let failure = crashed.try_into_panic().map_or_else(
                    |_| Failure::Init("the invocation was cancelled".to_owned()),
                    Failure::panicked,
                );
                tracing::error!(function = %self.sandbox.function, "{failure}");
                Err(failure)
            }
            Err(_) => {
                task.abort();
                let failure = Failure::TimedOut {
                    seconds: self.sandbox.timeout.as_secs(),
                };
                tracing::error!(function = %self.sandbox.function, "{failure}");
                Err(failure)
            }
        }
    }

    /// One of the `AWS/Lambda` metrics Lambda emits for this function.
    fn observe(&self, name: &str, unit: StandardUnit, value: f64) {
        let dimensions = [("FunctionName", self.sandbox.function_name.as_str())];
        metrics::observe("AWS/Lambda", name, unit, value, &dimensions);
    }
}

/// A request id as Lambda writes it: a UUID.
fn request_id() -> String {
    crate::resources::uuid_text(ulid::Ulid::new().0)
}

/// An X-Ray trace id: version 1, the epoch seconds in hex, and 96 random bits.
fn trace_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    // A ULID carries 80 random bits; two of them make the 96 the trace id needs.
    let random =
        ((ulid::Ulid::new().random() << 16) ^ ulid::Ulid::new().random()) & ((1 << 96) - 1);
    format!("Root=1-{now:08x}-{random:024x};Sampled=1")
}

/// One entry point per kind of event: the caller says what it sends, the sandbox checks the
/// function takes it, and the admission is that of the kind's callers in AWS.
macro_rules! entry_points {
    ($($method:ident: $variant:ident($event:ty) -> $output:ty, $admission:ident, $is_error:expr;)*) => {
        impl Deployed {
            $(
                pub async fn $method(&self, event: $event) -> Result<$output, Failure> {
                    let select = |i: &Instance| match i {
                        Instance::$variant(f) => Some(Arc::clone(f)),
                        _ => None,
                    };
                    self.call(select, event, Admission::$admission, $is_error).await
                }
            )*
        }
    };
}

// The last column says which answers Lambda counts as function errors: a handler's `Err`. An API
// route's error is already a problem+json answer, and a batch reports its failures in its answer.
entry_points! {
    http: Http(Request) -> ApiResult, Synchronous, |_| false;
    authorizer: Authorizer(AuthorizerRequest) -> SimpleResponse<Value>, Synchronous, |_| false;
    step: Step(SagaInput) -> StepResult, Synchronous, Result::is_err;
    queue: Queue(SqsEvent) -> SqsBatchResponse, EventSource, |_| false;
    stream: Stream(dynamodb::Event) -> DynamoDbEventResponse, EventSource, |_| false;
    schedule: Schedule(Value) -> Result<SweepReport, HandoffError>, EventSource, Result::is_err;
}
