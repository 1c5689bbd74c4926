//! Health and the `$default` route.

use cartwheel_http::{json, ApiError, ApiResult};
use cartwheel_routes::{RouteDecl, RouteMatch, RouteTable};
use lambda_http::{
    http::{header, Method, StatusCode},
    Body, Request, RequestExt, Response,
};
use serde_json::json;
use std::sync::OnceLock;

pub async fn health(_request: Request) -> ApiResult {
    json(StatusCode::OK, &json!({ "status": "ok" }))
}

include!(concat!(env!("OUT_DIR"), "/routes.rs"));

/// The route table this binary was built with (`build.rs` reads it from template.yaml).
fn routes() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let declared: Vec<RouteDecl> = ROUTES
            .iter()
            .map(|(method, path)| RouteDecl {
                method: Some((*method).to_owned()),
                path: Some((*path).to_owned()),
                authorizer: None,
            })
            .collect();
        RouteTable::new(declared.iter().map(|route| ("", route)))
    })
}

/// API Gateway sends here whatever no route matches: 405 if the path exists with other methods,
/// else 404. A browser's preflight request comes here too (the `$default` route catches OPTIONS
/// before API Gateway's own CORS answer would): it gets 204, to which API Gateway adds the
/// configured CORS headers.
pub async fn route_not_found(request: Request) -> ApiResult {
    if is_preflight(&request) {
        let mut answer = Response::new(Body::Empty);
        *answer.status_mut() = StatusCode::NO_CONTENT;
        return Ok(answer);
    }
    let method = request.method().as_str().to_owned();
    let path = request.raw_http_path().to_owned();
    let allowed = match routes().resolve(&method, &path) {
        RouteMatch::Default { allowed, .. } => allowed,
        RouteMatch::Route { .. } => Vec::new(),
    };
    if allowed.is_empty() {
        Err(ApiError::RouteNotFound { method, path })
    } else {
        Err(ApiError::MethodNotAllowed {
            method,
            path,
            allowed,
        })
    }
}

fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}
