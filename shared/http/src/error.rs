use lambda_http::http::StatusCode;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every way a request can fail. Each variant knows its status and its problem+json text; the
/// internals of a 500 are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body is missing")]
    MissingBody,
    #[error("{} is invalid: {}", .0.field, .0.message)]
    InvalidField(FieldError),
    #[error("the content type must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("path parameter {name} is invalid: {message}")]
    InvalidPathParameter { name: &'static str, message: String },
    #[error("query parameter {name} is invalid: {message}")]
    InvalidQueryParameter { name: &'static str, message: String },
    #[error("the cursor is not one this API issued for this query")]
    InvalidCursor,
    #[error("header {name} is invalid: {message}")]
    InvalidHeader { name: &'static str, message: String },
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("authentication is required")]
    Unauthenticated,
    #[error("the e-mail address or password is wrong")]
    BadCredentials,
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    /// Signed in with the right role, but what the caller did so far does not permit this.
    #[error("{0}")]
    NotEntitled(&'static str),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("no route matches {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("{method} is not allowed on {path}; allowed: {}", .allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: Vec<String>,
    },
    #[error("{0}")]
    Conflict(String),
    /// A limit is reached; the same answer whoever the subject is, so it reveals nothing.
    #[error("too many {what}; try again in {retry_after} s")]
    TooManyRequests {
        what: &'static str,
        retry_after: u64,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(source.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_)
            | Self::MissingBody
            | Self::InvalidPathParameter { .. }
            | Self::InvalidQueryParameter { .. }
            | Self::InvalidCursor
            | Self::InvalidHeader { .. } => StatusCode::BAD_REQUEST,
            Self::InvalidField(_) | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::NotEntitled(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable slug for the problem's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed-json",
            Self::MissingBody => "missing-body",
            Self::InvalidField(_) => "validation-failed",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::InvalidPathParameter { .. } => "invalid-path-parameter",
            Self::InvalidQueryParameter { .. } => "invalid-query-parameter",
            Self::InvalidCursor => "invalid-cursor",
            Self::InvalidHeader { .. } => "invalid-header",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::Unauthenticated => "unauthenticated",
            Self::BadCredentials => "bad-credentials",
            Self::Forbidden(_) => "forbidden",
            Self::NotEntitled(_) => "not-entitled",
            Self::NotFound(_) => "not-found",
            Self::RouteNotFound { .. } => "route-not-found",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Internal(_) => "internal",
        }
    }

    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::InvalidField(field) => vec![field.clone()],
            _ => Vec::new(),
        }
    }
}

/// An error and each cause under it, outermost first, joined by ": ", for logs and for the
/// messages other services keep (Step Functions' error cause): a `#[source]` chain displayed
/// whole, so that "a DynamoDB call failed" says why.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'a));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
