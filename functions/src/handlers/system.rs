//! Health and the `$default` route.

use cartwheel_http::{json, ApiError, ApiResult};
use cartwheel_template::{RouteMatch, RouteTable, Template};
use lambda_http::{http::StatusCode, Request, RequestExt};
use serde_json::json;
use std::sync::OnceLock;

pub async fn health(_request: Request) -> ApiResult {
    json(StatusCode::OK, &json!({ "status": "ok" }))
}

/// The route table this binary was built with, read from the embedded template.yaml.
fn routes() -> Result<&'static RouteTable, ApiError> {
    static ROUTES: OnceLock<Option<RouteTable>> = OnceLock::new();
    ROUTES
        .get_or_init(|| {
            let functions = Template::parse(cartwheel_template::EMBEDDED)
                .and_then(|t| t.functions())
                .ok()?;
            Some(RouteTable::new(&functions))
        })
        .as_ref()
        .ok_or_else(|| ApiError::internal("the embedded template.yaml has no readable routes"))
}

/// API Gateway sends here whatever no route matches: 405 if the path exists with other methods,
/// else 404.
pub async fn route_not_found(request: Request) -> ApiResult {
    let method = request.method().as_str().to_owned();
    let path = request.raw_http_path().to_owned();
    let allowed = match routes()?.resolve(&method, &path) {
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
