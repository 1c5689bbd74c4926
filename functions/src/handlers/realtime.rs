//! The WebSocket API's routes: `$connect` admits a customer by their access token (in the query
//! string, as browsers cannot set headers on a WebSocket, or in `Authorization`) and records the
//! connection; `$disconnect` removes it.

use super::store_error;
use cartwheel_domain::Timestamp;
use cartwheel_http::{json, no_content, query_param, ApiError, ApiResult};
use cartwheel_identity::TokenService;
use cartwheel_store::{CloseConnection, OpenConnection};
use lambda_http::{
    http::{header, StatusCode},
    request::RequestContext,
    Request, RequestExt,
};
use std::time::Duration;

/// API Gateway closes a WebSocket connection after two hours at most: the record lives as long.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(2 * 3600);

fn connection_id(request: &Request) -> Result<String, ApiError> {
    match request.request_context_ref() {
        Some(RequestContext::WebSocket(context)) => context
            .connection_id
            .clone()
            .ok_or_else(|| ApiError::internal("the WebSocket event has no connection id")),
        _ => Err(ApiError::internal("not a WebSocket event")),
    }
}

fn token(request: &Request) -> Option<String> {
    query_param(request, "token").or_else(|| {
        let value = request
            .headers()
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    })
}

/// `$connect`: 200 admits the connection; 401 (no token, or not a valid one) refuses it.
#[tracing::instrument(skip_all)]
pub async fn connect(
    store: &impl OpenConnection,
    tokens: &TokenService,
    request: Request,
) -> ApiResult {
    let claims = token(&request)
        .and_then(|token| tokens.verify(&token).ok())
        .ok_or(ApiError::Unauthenticated)?;
    let user = claims.user_id().map_err(|_| ApiError::Unauthenticated)?;
    let connection = connection_id(&request)?;
    let expires = Timestamp::now().plus(CONNECTION_LIFETIME);
    store
        .open_connection(user, &connection, expires)
        .await
        .map_err(store_error)?;
    // API Gateway admits the connection on a 200 from `$connect`.
    json(StatusCode::OK, &serde_json::json!({ "connected": true }))
}

/// `$disconnect`: forgets the connection (also when it was never recorded).
#[tracing::instrument(skip_all)]
pub async fn disconnect(store: &impl CloseConnection, request: Request) -> ApiResult {
    let connection = connection_id(&request)?;
    store
        .close_connection(&connection)
        .await
        .map_err(store_error)?;
    no_content()
}
