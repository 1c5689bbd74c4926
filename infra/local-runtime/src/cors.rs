//! API Gateway's CORS, as an HTTP API with a `CorsConfiguration` applies it: a preflight request
//! that no route takes is answered by the gateway itself; one that a route takes (`$default`
//! catches OPTIONS) goes to that route, and the gateway adds the preflight headers to its answer.
//! Every answer to an allowed origin gets the allow-origin and expose-headers.

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

    /// A browser's preflight request: OPTIONS with an origin and the method it asks about.
    pub fn is_preflight(method: &Method, request: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && request.contains_key(header::ORIGIN)
            && request.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The gateway's own answer to a preflight that no route (not even `$default`) takes.
    pub fn preflight(&self, origin: Option<&HeaderValue>) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        self.decorate_preflight(origin, &mut response);
        response
    }

    /// Adds the preflight's CORS headers to an answer for an allowed origin.
    pub fn decorate_preflight(
        &self,
        origin: Option<&HeaderValue>,
        response: &mut Response<Full<Bytes>>,
    ) {
        if let Some(origin) = self.allowed_origin(origin) {
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
