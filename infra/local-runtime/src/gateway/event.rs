//! The pieces of the payload format 2.0 event that a handler receives: its request context and
//! its decoded path parameters.

use super::service::Gateway;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use std::net::SocketAddr;

pub(super) fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

impl Gateway {
    pub(super) fn request_context(
        &self,
        route_key: &str,
        method: &hyper::Method,
        path: &str,
        peer: SocketAddr,
        headers: &hyper::HeaderMap,
    ) -> ApiGatewayV2httpRequestContext {
        let now = time::OffsetDateTime::now_utc();
        let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
        http.method = method.clone();
        http.path = Some(path.to_owned());
        http.protocol = Some("HTTP/1.1".into());
        http.source_ip = Some(peer.ip().to_string());
        http.user_agent = headers
            .get(hyper::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.route_key = Some(route_key.to_owned());
        context.account_id = Some("000000000000".into());
        context.stage = Some("$default".into());
        context.request_id = Some(ulid::Ulid::new().to_string());
        context.apiid = Some("local".into());
        context.domain_name = headers
            .get(hyper::header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        context.time_epoch =
            i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
        context.http = http;
        context
    }
}
