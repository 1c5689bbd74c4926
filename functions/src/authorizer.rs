//! The Lambda authorizer: API Gateway calls it with the Authorization header, and it answers with
//! a simple response whose context (`sub`, `role`) reaches the handler.

use cartwheel_http::Caller;
use cartwheel_identity::TokenService;
pub use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse as SimpleResponse,
    ApiGatewayV2CustomAuthorizerV2Request as AuthorizerRequest,
};
use serde_json::{json, Value};

fn bearer_token(request: &AuthorizerRequest) -> Option<&str> {
    let header = match request.identity_source.as_deref() {
        Some([first, ..]) => Some(first.as_str()),
        _ => request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
    }?;
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn authorize(tokens: &TokenService, request: &AuthorizerRequest) -> SimpleResponse<Value> {
    let claims = bearer_token(request).and_then(|token| tokens.verify(token).ok());
    let mut response = SimpleResponse::default();
    match claims {
        Some(claims) => {
            response.is_authorized = true;
            response.context =
                json!({ Caller::SUBJECT_KEY: claims.sub, Caller::ROLE_KEY: claims.role.as_str() });
        }
        None => response.context = json!({}),
    }
    response
}
