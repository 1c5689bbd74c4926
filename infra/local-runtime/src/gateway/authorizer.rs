//! The Lambda authorizer in front of a route: API Gateway's identity check, the authorizer call
//! and its result cache, and the 401/403/500 answers when it does not admit a request.

use super::{
    answers::{gateway_answer, internal_server_error},
    service::Gateway,
};
use crate::invoke_permission::{refused, API_GATEWAY};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Cached authorizer answers kept at most; past this the cache is cleared rather than grown.
const AUTH_CACHE_CAPACITY: usize = 10_000;

/// The gateway's own answers when a route's authorizer does not admit a request.
pub(super) enum Refusal {
    /// No identity source: 401 without calling the authorizer.
    Unauthorized,
    /// The authorizer said no: 403.
    Forbidden,
    /// The authorizer failed (timed out, crashed, throttled): 500.
    Failed,
}

impl Refusal {
    pub(super) fn answer(self) -> Response<Full<Bytes>> {
        match self {
            Self::Unauthorized => gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized"),
            Self::Forbidden => gateway_answer(StatusCode::FORBIDDEN, "Forbidden"),
            Self::Failed => internal_server_error(),
        }
    }
}

impl Gateway {
    /// API Gateway's order: no identity source → 401 without calling the authorizer; a denial →
    /// 403; both answers are cached for the authorizer's TTL, keyed by the identity source.
    pub(super) async fn authorize(
        &self,
        name: &str,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<Value, Refusal> {
        let authorizer = self.authorizers.get(name).ok_or(Refusal::Unauthorized)?;
        if let Some(source) = self.refused_authorizers.get(name) {
            refused(&authorizer.function, API_GATEWAY, source);
            return Err(Refusal::Failed);
        }
        let identity: Vec<String> = authorizer
            .identity_headers
            .iter()
            .map(|h| {
                event
                    .headers
                    .get(h.as_str())
                    .and_then(|v| v.to_str().ok())
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            })
            .collect::<Option<_>>()
            .ok_or(Refusal::Unauthorized)?;
        let cache_key = (name.to_owned(), identity.join(","));
        let ttl = Duration::from_secs(authorizer.ttl_seconds);
        let cached = self.auth_cache.lock().ok().and_then(|cache| {
            cache
                .get(&cache_key)
                .filter(|(at, _)| at.elapsed() < ttl)
                .map(|(_, decision)| decision.clone())
        });
        let decision = match cached {
            Some(decision) => decision,
            None => {
                let mut request = ApiGatewayV2CustomAuthorizerV2Request::default();
                request.version = Some("2.0".into());
                request.type_ = Some("REQUEST".into());
                request.identity_source = Some(identity);
                request.route_key = event.route_key.clone();
                request.raw_path = event.raw_path.clone();
                request.raw_query_string = event.raw_query_string.clone();
                request.headers = event.headers.clone();
                request.request_context = event.request_context.clone();
                let function = self
                    .functions
                    .get(&authorizer.function)
                    .ok_or(Refusal::Failed)?;
                let answer = function
                    .authorizer(request)
                    .await
                    .map_err(|_| Refusal::Failed)?;
                let decision = answer.is_authorized.then_some(answer.context);
                if !ttl.is_zero() {
                    if let Ok(mut cache) = self.auth_cache.lock() {
                        if cache.len() >= AUTH_CACHE_CAPACITY {
                            cache.clear();
                        }
                        cache.insert(cache_key, (Instant::now(), decision.clone()));
                    }
                }
                decision
            }
        };
        decision.ok_or(Refusal::Forbidden)
    }
}
