//! With the CDN on (`EnableCdn=true`), the HTTP API's own `execute-api` endpoint must not serve
//! what WAF and the cache stand in front of, and an HTTP API can neither be made private nor be
//! given a resource policy. So CloudFront adds `X-Origin-Verify` to every request it forwards,
//! with a value only the stack knows (template.yaml's `ORIGIN_VERIFY`), and an HTTP function given
//! that setting answers a request without it 403, before its handler runs.

pub use crate::config::ORIGIN_VERIFY;
use crate::{config::Env, function::Gate, Invoke};
use cartwheel_http::{ApiError, ApiResult};
use lambda_http::Request;
use std::sync::Arc;

/// The header CloudFront adds (template.yaml's `OriginCustomHeaders`).
pub const HEADER: &str = "x-origin-verify";

const BYPASSED: &str = "this API answers only through its CDN; call the stack's ApiUrl";

impl Gate<ApiResult> for Request {
    fn gate(invoke: Invoke<Self, ApiResult>, env: &Env) -> Invoke<Self, ApiResult> {
        // `Env::get` reads an empty value as unset.
        let Some(expected) = env.get(ORIGIN_VERIFY) else {
            return invoke;
        };
        let expected = expected.to_owned();
        Arc::new(move |request: Request| {
            let presented = request.headers().get(HEADER).map(|v| v.as_bytes());
            if presented == Some(expected.as_bytes()) {
                return invoke(request);
            }
            tracing::warn!("a request bypassed the CDN");
            Box::pin(async { Err(ApiError::NotEntitled(BYPASSED)) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::StatusCode;

    fn handler() -> Invoke<Request, ApiResult> {
        Arc::new(|_| Box::pin(async { cartwheel_http::json(StatusCode::OK, &"served") }))
    }

    fn request(header: Option<&str>) -> Request {
        let mut request = Request::default();
        if let Some(value) = header {
            request.headers_mut().insert(HEADER, value.parse().unwrap());
        }
        request
    }

    fn settings(value: Option<&str>) -> Env {
        Env::from_pairs(value.map(|v| (ORIGIN_VERIFY.to_owned(), v.to_owned())))
    }

    async fn status(env: &Env, header: Option<&str>) -> StatusCode {
        match Request::gate(handler(), env)(request(header)).await {
            Ok(response) => response.status(),
            Err(error) => error.status(),
        }
    }

    #[tokio::test]
    async fn with_the_cdn_only_requests_that_came_through_it_are_served() {
        let env = settings(Some("9f1c"));
        assert_eq!(status(&env, Some("9f1c")).await, StatusCode::OK);
        assert_eq!(status(&env, None).await, StatusCode::FORBIDDEN);
        assert_eq!(status(&env, Some("guess")).await, StatusCode::FORBIDDEN);
        for without_cdn in [settings(Some("")), settings(None)] {
            assert_eq!(status(&without_cdn, None).await, StatusCode::OK);
        }
    }
}
