//! Health and the `$default` route.

use cartwheel_http::{json, ApiError, ApiResult};
use cartwheel_routes::{RouteDecl, RouteMatch, RouteTable};
use lambda_http::{http::StatusCode, Request, RequestExt};
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
/// else 404.
pub async fn route_not_found(request: Request) -> ApiResult {
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
