use lambda_http::{request::RequestContext, Request, RequestExt};

/// The address the request came from, as API Gateway saw it (`requestContext.http.sourceIp`).
/// Behind CloudFront that is an edge's address, so per-address limits then count per edge.
pub fn client_address(request: &Request) -> &str {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.as_deref().unwrap_or("unknown")
        }
        _ => "unknown",
    }
}
