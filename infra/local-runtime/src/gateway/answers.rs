//! The gateway's own answers, as an HTTP API gives them: a JSON `message` with the status.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

pub(super) fn gateway_answer(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// What an HTTP API answers when its Lambda integration fails (error, timeout, throttle).
pub(super) fn internal_server_error() -> Response<Full<Bytes>> {
    gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}
