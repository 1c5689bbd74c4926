use crate::{ApiError, ApiResult};
use lambda_http::{
    http::{header, StatusCode},
    Body, Response,
};
use serde::Serialize;
use serde_json::json;

fn response(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> ApiResult {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    Ok(response(status, "application/json", body))
}

pub fn no_content() -> ApiResult {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// Renders an error as RFC 9457 problem+json. A 500 is logged with its cause and answered with
/// nothing that reveals it.
pub fn problem(error: &ApiError) -> Response<Body> {
    let status = error.status();
    if let ApiError::Internal(source) = error {
        tracing::error!(error = %crate::ErrorChain(source.as_ref()), "request failed");
    }
    let mut body = json!({
        "type": format!("https://cartwheel.dev/problems/{}", error.kind()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": error.to_string(),
    });
    let fields = error.field_errors();
    if !fields.is_empty() {
        body["errors"] = json!(fields);
    }
    let mut response = response(status, "application/problem+json", body.to_string());
    let extra = match error {
        ApiError::MethodNotAllowed { allowed, .. } => Some((header::ALLOW, allowed.join(", "))),
        ApiError::TooManyRequests { retry_after, .. } => {
            Some((header::RETRY_AFTER, retry_after.to_string()))
        }
        _ => None,
    };
    if let Some((name, value)) = extra {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldError;

    fn body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn field_problems_list_the_field() {
        let error = ApiError::InvalidField(FieldError {
            field: "price.amount".into(),
            message: "must be positive".into(),
        });
        let response = problem(&error);
        assert_eq!(response.status(), 422);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = body(&response);
        assert_eq!(body["errors"][0]["field"], "price.amount");
        assert_eq!(body["detail"], "price.amount is invalid: must be positive");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let response = problem(&ApiError::internal("table cartwheel-secret exploded"));
        assert_eq!(response.status(), 500);
        assert!(!body(&response).to_string().contains("exploded"));
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let error = ApiError::MethodNotAllowed {
            method: "POST".into(),
            path: "/health".into(),
            allowed: vec!["GET".into()],
        };
        assert_eq!(problem(&error).headers()[header::ALLOW], "GET");
    }

    #[test]
    fn too_many_requests_says_when_to_retry() {
        let error = ApiError::TooManyRequests {
            what: "failed logins",
            retry_after: 42,
        };
        let response = problem(&error);
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        assert_eq!(
            body(&response)["type"],
            "https://cartwheel.dev/problems/too-many-requests"
        );
    }
}
