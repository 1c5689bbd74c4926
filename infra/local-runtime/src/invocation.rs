//! What a Lambda Invoke of a saga step comes to, and the one who performs it. The AWS edge
//! performs it (for moto's engine and for the offline one); the offline Step Functions engine
//! (`states`) only needs it done, so it depends on this trait and not on the edge, which serves
//! the engine's API in turn.

use hyper::StatusCode;
use std::future::Future;

/// What a Lambda Invoke of a saga step came to.
pub enum Invoked {
    /// The step's answer (its JSON).
    Output(Vec<u8>),
    /// The function failed: what Lambda reports with `X-Amz-Function-Error`.
    FunctionError { error_type: String, message: String },
    /// Lambda itself refused the call (not found, denied, throttled).
    ApiError {
        status: StatusCode,
        error_type: &'static str,
        body: serde_json::Value,
    },
}

impl Invoked {
    pub fn function_error(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self::FunctionError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    pub fn api(status: StatusCode, error_type: &'static str, body: serde_json::Value) -> Self {
        Self::ApiError {
            status,
            error_type,
            body,
        }
    }
}

/// Invokes saga steps as Lambda does for Step Functions, with the state machine's role.
pub trait InvokeStep: Send + Sync + 'static {
    /// Invokes the function named `<stack>-<logical id>` (or its ARN's last part) with `payload`.
    fn invoke_step(&self, function: &str, payload: &[u8]) -> impl Future<Output = Invoked> + Send;

    /// The region and account of the stack a resource named `<stack>-<logical id>` belongs to.
    fn location_of(&self, name: &str) -> Option<(String, String)>;
}
