//! Every answer the gateway gives, one JSON line each (method, route key, status, content type,
//! body), for `scripts/lib/check_responses.py` to validate against `api/openapi.yaml`: so the
//! contract is held to what every test actually received, not to what its author expected.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header::CONTENT_TYPE, Response};
use serde_json::json;
use std::{fs::File, io::Write, path::Path, sync::Mutex};

pub struct ResponseLog(Mutex<File>);

impl ResponseLog {
    /// Appends to `path` (several test processes may share one file; each line is one write).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::options().create(true).append(true).open(path)?;
        Ok(Self(Mutex::new(file)))
    }

    pub async fn record(&self, method: &str, route: &str, response: &Response<Full<Bytes>>) {
        let Ok(body) = response.body().clone().collect().await;
        let body = body.to_bytes();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let mut line = json!({
            "method": method,
            "route": route,
            "status": response.status().as_u16(),
            "contentType": content_type,
            "body": String::from_utf8_lossy(&body),
        })
        .to_string();
        line.push('\n');
        let mut file = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = file.write_all(line.as_bytes()) {
            tracing::warn!(%error, "the response log cannot be written");
        }
    }
}
