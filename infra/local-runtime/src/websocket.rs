//! API Gateway's WebSocket API in process, from template.yaml: a client's upgrade request is the
//! `$connect` route's event (a 200 from its function admits the connection, anything else refuses
//! it with that status), a closed connection is `$disconnect`'s, and the management API's
//! `PostToConnection` reaches the API's connected clients through `ws_management`, where each API
//! registers them: 200 to a connected client, API Gateway's 410 `GoneException` otherwise.

use crate::{
    invoke_permission::{may_invoke, refused, API_GATEWAY},
    resources::ResolveError,
    stack_functions::Functions,
    ws_management::{self, Connections},
};
use bytes::Bytes;
use cartwheel_template::{Expr, Template};
use futures::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::{
    body::Incoming, header, server::conn::http1, service::service_fn, Request, Response, StatusCode,
};
use hyper_util::rt::TokioIo;
use lambda_http::{
    aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest, request::LambdaRequest,
};
use serde_json::{json, Map, Value};
use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::{net::TcpListener, sync::mpsc};
use tokio_tungstenite::{
    tungstenite::{handshake::derive_accept_key, protocol::Role, Message},
    WebSocketStream,
};

/// Why the template's WebSocket API cannot be served as it is wired.
#[derive(Debug, thiserror::Error)]
pub enum WebSocketError {
    #[error("{what}")]
    Unresolved {
        what: String,
        #[source]
        source: ResolveError,
    },
    #[error("{0} has no stage")]
    NoStage(String),
    #[error("{0} has no literal RouteKey")]
    NoRouteKey(String),
    #[error("{0}'s Target is not an integration with a function")]
    NoFunction(String),
}

pub struct WebSocketApi {
    pub api_id: String,
    pub stage: String,
    /// Route key (`$connect`, `$disconnect`) → the logical id of its function.
    routes: HashMap<String, String>,
    /// Route key → the source ARN from which API Gateway may not invoke its function (no invoke
    /// permission): the route answers 500, as in AWS.
    refused: HashMap<String, String>,
    functions: Arc<Functions>,
    connections: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
}

/// The first resource a `!Sub` names (`${Name}` or `${Name.Attribute}`; pseudo parameters such
/// as `${AWS::Region}` are not resources).
fn first_reference(sub: &str) -> Option<&str> {
    sub.split("${")
        .skip(1)
        .filter_map(|part| part.split('}').next()?.split('.').next())
        .find(|name| !name.starts_with("AWS::"))
}

/// A query string's parameters, decoded (`+` is a space, as browsers encode forms).
fn query_parameters(query: &str) -> Map<String, Value> {
    let decode = |raw: &str| {
        percent_encoding::percent_decode_str(&raw.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), json!(decode(value)))
        })
        .collect()
}

fn refers_to(expr: Option<Expr>, id: &str) -> bool {
    matches!(expr, Some(Expr::Ref(name)) if name == id)
}

impl WebSocketApi {
    /// The template's WebSocket API, served by `functions`' stack; `None` if it declares none.
    pub fn from_template(
        template: &Template,
        functions: Arc<Functions>,
    ) -> Result<Option<Arc<Self>>, WebSocketError> {
        let Some(api) = template
            .ids_of_type("AWS::ApiGatewayV2::Api")
            .into_iter()
            .find(|id| {
                matches!(template.property(id, "ProtocolType"), Some(Expr::Literal(p)) if p == "WEBSOCKET")
            })
        else {
            return Ok(None);
        };
        let resolve = |id: &str, what: &str| {
            let reference = Expr::Ref(id.to_owned());
            functions.resources.resolve(&reference).map_err(|source| {
                let what = format!("the WebSocket API's {what}");
                WebSocketError::Unresolved { what, source }
            })
        };
        let api_id = resolve(&api, "id")?;
        let stage = template
            .ids_of_type("AWS::ApiGatewayV2::Stage")
            .into_iter()
            .find(|id| refers_to(template.property(id, "ApiId"), &api))
            .ok_or_else(|| WebSocketError::NoStage(api.clone()))?;
        let stage = resolve(&stage, "stage")?;
        let mut routes = HashMap::new();
        for route in template.ids_of_type("AWS::ApiGatewayV2::Route") {
            if !refers_to(template.property(&route, "ApiId"), &api) {
                continue;
            }
            let key = match template.property(&route, "RouteKey") {
                Some(Expr::Literal(key)) => key,
                _ => return Err(WebSocketError::NoRouteKey(route)),
            };
            let function = match template.property(&route, "Target") {
                Some(Expr::Sub(target)) => first_reference(&target).and_then(|integration| {
                    match template.property(integration, "IntegrationUri")? {
                        Expr::Sub(uri) => first_reference(&uri).map(str::to_owned),
                        _ => None,
                    }
                }),
                _ => None,
            }
            .ok_or_else(|| WebSocketError::NoFunction(route.clone()))?;
            routes.insert(key, function);
        }
        let resources = &functions.resources;
        let refused = routes
            .iter()
            .filter_map(|(key, function)| {
                let source = format!(
                    "arn:aws:execute-api:{}:{}:{api_id}/{stage}/{key}",
                    resources.region, resources.account
                );
                let allowed = may_invoke(template, resources, function, API_GATEWAY, &source);
                (!allowed).then(|| (key.clone(), source))
            })
            .collect();
        let api = Arc::new(Self {
            api_id: api_id.to_lowercase(),
            stage,
            routes,
            refused,
            functions,
            connections: Mutex::new(HashMap::new()),
        });
        ws_management::register(api.api_id.clone(), Arc::clone(&api) as Arc<dyn Connections>);
        Ok(Some(api))
    }

    /// The route's event, as API Gateway sends it to a Lambda proxy integration.
    fn event(
        &self,
        route: &str,
        connection: &str,
        request: &Request<Incoming>,
        peer: SocketAddr,
    ) -> Value {
        let headers: Map<String, Value> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), json!(value.to_str().ok()?))))
            .collect();
        let query = request
            .uri()
            .query()
            .map(query_parameters)
            .unwrap_or_default();
        let now = cartwheel_domain::Timestamp::now().unix_millis();
        let event_type = if route == "$connect" {
            "CONNECT"
        } else {
            "DISCONNECT"
        };
        json!({
            "headers": headers,
            "queryStringParameters": query,
            "isBase64Encoded": false,
            "requestContext": {
                "routeKey": route, "eventType": event_type, "connectionId": connection,
                "stage": self.stage, "apiId": self.api_id, "messageDirection": "IN",
                "domainName": format!("{}.execute-api.{}.amazonaws.com", self.api_id, self.functions.resources.region),
                "requestId": ulid::Ulid::new().to_string(), "connectedAt": now,
                "requestTimeEpoch": now, "identity": {"sourceIp": peer.ip().to_string()},
            },
        })
    }

    /// Runs `route`'s function; its status, or 500 when it failed (or the event did not decode).
    async fn call(&self, route: &str, event: Value) -> StatusCode {
        let deployed = self
            .routes
            .get(route)
            .and_then(|function| self.functions.get(function));
        let Some(deployed) = deployed else {
            // No such route: API Gateway admits a connection without `$connect`.
            return StatusCode::OK;
        };
        if let Some(source) = self.refused.get(route) {
            refused(&self.routes[route], API_GATEWAY, source);
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        let Ok(event) = serde_json::from_value::<ApiGatewayWebsocketProxyRequest>(event) else {
            return StatusCode::INTERNAL_SERVER_ERROR;
        };
        let request: lambda_http::Request = LambdaRequest::WebSocket(event).into();
        match deployed.http(request).await {
            Ok(Ok(response)) => response.status(),
            Ok(Err(error)) => error.status(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    async fn upgrade(
        self: Arc<Self>,
        mut request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let key = request
            .headers()
            .get(header::SEC_WEBSOCKET_KEY)
            .map(|key| derive_accept_key(key.as_bytes()));
        let Some(accept) = key else {
            return answer(StatusCode::BAD_REQUEST, "not a WebSocket upgrade");
        };
        let connection = ulid::Ulid::new().to_string();
        let event = self.event("$connect", &connection, &request, peer);
        let status = self.call("$connect", event.clone()).await;
        if !status.is_success() {
            return answer(status, "the connection was refused");
        }
        let upgrade = hyper::upgrade::on(&mut request);
        let api = Arc::clone(&self);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                api.run(connection, socket, event).await;
            }
        });
        let mut response = answer(StatusCode::SWITCHING_PROTOCOLS, "");
        let headers = response.headers_mut();
        headers.insert(
            header::UPGRADE,
            header::HeaderValue::from_static("websocket"),
        );
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("Upgrade"),
        );
        if let Ok(accept) = header::HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }

    /// Relays pushed messages to the client until it closes, then runs `$disconnect`.
    async fn run(
        &self,
        connection: String,
        socket: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
        mut event: Value,
    ) {
        let (mut to_client, mut from_client) = socket.split();
        let (sender, mut pushed) = mpsc::unbounded_channel::<String>();
        if let Ok(mut connections) = self.connections.lock() {
            connections.insert(connection.clone(), sender);
        }
        loop {
            tokio::select! {
                Some(text) = pushed.recv() => {
                    if to_client.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                incoming = from_client.next() => match incoming {
                    // No route takes client messages: they are dropped, as API Gateway drops
                    // those that match no route.
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        if let Ok(mut connections) = self.connections.lock() {
            connections.remove(&connection);
        }
        event["requestContext"]["routeKey"] = json!("$disconnect");
        event["requestContext"]["eventType"] = json!("DISCONNECT");
        self.call("$disconnect", event).await;
    }

    /// Serves upgrades on `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        crate::accept::accept_forever(listener, |stream, peer| {
            let api = Arc::clone(&self);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let api = Arc::clone(&api);
                    async move { Ok::<_, Infallible>(api.upgrade(request, peer).await) }
                });
                let served = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
                if let Err(error) = served {
                    tracing::debug!(%error, "WebSocket connection closed with an error");
                }
            });
        })
        .await;
        Ok(())
    }
}

impl Connections for WebSocketApi {
    fn stage(&self) -> &str {
        &self.stage
    }

    fn post(&self, connection: &str, data: &[u8]) -> bool {
        let text = String::from_utf8_lossy(data).into_owned();
        self.connections
            .lock()
            .ok()
            .and_then(|connections| connections.get(connection).cloned())
            .is_some_and(|client| client.send(text).is_ok())
    }
}

fn answer(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_names_its_first_resource() {
        assert_eq!(
            first_reference("integrations/${WsConnectIntegration}"),
            Some("WsConnectIntegration")
        );
        assert_eq!(
            first_reference("arn:x:${AWS::Region}:y/${F.Arn}/z"),
            Some("F")
        );
        let query = query_parameters("token=a%2Bb&x=1+2");
        assert_eq!(
            (query["token"].clone(), query["x"].clone()),
            (json!("a+b"), json!("1 2"))
        );
    }
}
