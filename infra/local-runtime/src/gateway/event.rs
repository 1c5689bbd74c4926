//! The request context of the payload format 2.0 event that a handler receives: route key,
//! method, path, source IP, user agent, stage, request id and time, as API Gateway fills them.

use super::service::Gateway;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use std::net::SocketAddr;

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
