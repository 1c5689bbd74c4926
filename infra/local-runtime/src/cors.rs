//! API Gateway's CORS, as an HTTP API with a `CorsConfiguration` applies it: it answers a preflight
//! request itself (no route, no authorizer), and adds the allow-origin and expose-headers to every
//! answer to an allowed origin.

use bytes::Bytes;
use cartwheel_template::CorsSpec;
use http_body_util::Full;
use hyper::{
    header::{self, HeaderMap, HeaderName, HeaderValue},
    Method, Response, StatusCode,
};

pub struct Cors(CorsSpec);

impl Cors {
    pub fn new(spec: CorsSpec) -> Self {
        Self(spec)
    }

    /// What `Access-Control-Allow-Origin` says to this request's origin, if it is allowed.
    fn allowed_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        let origins = &self.0.allow_origins;
        if origins.iter().any(|o| o == "*") {
            Some(HeaderValue::from_static("*"))
        } else {
            origins
                .iter()
                .any(|o| o.as_bytes() == origin.as_bytes())
                .then(|| origin.clone())
        }
    }

    /// The gateway's own answer to a browser's preflight request, which never reaches a route.
    pub fn preflight(&self, method: &Method, request: &HeaderMap) -> Option<Response<Full<Bytes>>> {
        let is_preflight = method == Method::OPTIONS
            && request.contains_key(header::ORIGIN)
            && request.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if !is_preflight {
            return None;
        }
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = self.allowed_origin(request.get(header::ORIGIN)) {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            let spec = &self.0;
            set_list(
                headers,
                header::ACCESS_CONTROL_ALLOW_METHODS,
                &spec.allow_methods,
            );
            set_list(
                headers,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                &spec.allow_headers,
            );
            if let Some(seconds) = spec.max_age_seconds {
                headers.insert(header::ACCESS_CONTROL_MAX_AGE, seconds.into());
            }
        }
        Some(response)
    }

    /// Adds the CORS headers to the answer to a request from `origin`, if it is allowed.
    pub fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response<Full<Bytes>>) {
        if let Some(origin) = self.allowed_origin(origin) {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            set_list(
                headers,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.0.expose_headers,
            );
        }
    }
}

fn set_list(headers: &mut HeaderMap, name: HeaderName, values: &[String]) {
    if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
        if !values.is_empty() {
            headers.insert(name, value);
        }
    }
}
