//! API Gateway's management API for the process's WebSocket APIs: `PostToConnection`
//! (`https://<api>.execute-api.<region>.amazonaws.com/<stage>/@connections/<id>`) from a
//! function's sandboxed client is answered here, in process: 200 to a connected client, API
//! Gateway's 410 `GoneException` otherwise. The sandboxed client (iam) and the WebSocket APIs
//! (websocket) both use this module, and neither imports the other for it.

use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode as SdkStatus};
use aws_smithy_types::body::SdkBody;
use serde_json::json;
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, RwLock},
};

/// A WebSocket API's connected clients, as the management API reaches them.
pub trait Connections: Send + Sync {
    /// The stage its management URLs name.
    fn stage(&self) -> &str;
    /// `PostToConnection`: whether the client was connected.
    fn post(&self, connection: &str, data: &[u8]) -> bool;
}

/// Every WebSocket API of the process's stacks, by its id.
static APIS: LazyLock<RwLock<HashMap<String, Arc<dyn Connections>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// Makes the API `api_id` (lower case) reachable through its management URLs.
pub fn register(api_id: String, api: Arc<dyn Connections>) {
    if let Ok(mut apis) = APIS.write() {
        apis.insert(api_id, api);
    }
}

/// The API and connection a management API URL names: `https://<api>.execute-api.<region>.
/// amazonaws.com/<stage>/@connections/<id>`.
pub fn management_target(uri: &str) -> Option<(String, String, String)> {
    let rest = uri.split_once("://")?.1;
    let (host, path) = rest.split_once('/')?;
    let api = host.split_once(".execute-api.")?.0.to_lowercase();
    let (stage, connection) = path.split_once("/@connections/")?;
    let connection = connection.split('?').next()?;
    let connection = percent_encoding::percent_decode_str(connection).decode_utf8_lossy();
    Some((api, stage.to_owned(), connection.into_owned()))
}

/// Answers a management API call to one of the process's WebSocket APIs; `None` for any other
/// request (it goes on to the emulators).
pub fn management_answer(method: &str, uri: &str, body: &[u8]) -> Option<HttpResponse> {
    let (api, stage, connection) = management_target(uri)?;
    let api = APIS.read().ok()?.get(&api).cloned()?;
    let delivered = method == "POST" && stage == api.stage() && api.post(&connection, body);
    let (status, body, error) = if delivered {
        (200, String::new(), None)
    } else {
        let message = json!({"message": format!("connection {connection} is gone")});
        (410, message.to_string(), Some("GoneException"))
    };
    let mut response = HttpResponse::new(
        SdkStatus::try_from(status).expect("a valid status"),
        SdkBody::from(body),
    );
    let headers = response.headers_mut();
    headers.insert("content-type", "application/json");
    headers.insert("x-amzn-requestid", ulid::Ulid::new().to_string());
    if let Some(error) = error {
        headers.insert("x-amzn-errortype", error);
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_management_url_names_its_api_stage_and_connection() {
        assert_eq!(
            management_target("https://Stack-WebSocketApi.execute-api.us-east-1.amazonaws.com/live/@connections/abc%3D"),
            Some(("stack-websocketapi".into(), "live".into(), "abc=".into()))
        );
        assert_eq!(management_target("http://127.0.0.1:8000/"), None);
    }
}
