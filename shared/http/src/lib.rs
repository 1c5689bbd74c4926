//! What every HTTP handler shares: typed errors rendered once as problem+json, JSON bodies parsed
//! into domain types, path and query parameters, and the caller the authorizer admitted.

mod address;
mod cache;
mod caller;
mod error;
mod input;
mod respond;

pub use address::client_address;
pub use cache::{cached_json, Freshness};
pub use caller::Caller;
pub use error::{ApiError, ErrorChain, FieldError};
pub use input::{json_body, path_id, query_param, MAX_BODY_BYTES};
pub use respond::{json, no_content, problem};

pub type ApiResult = Result<lambda_http::Response<lambda_http::Body>, ApiError>;
