//! The gateway itself: built from the template and the deployed functions, it serves each
//! request (docs, CORS, payload limit, routing, throttling, the handler call) and emits the
//! `AWS/ApiGateway` metrics and the access log.

use super::answers::{gateway_answer, internal_server_error};
use crate::{
    cors::Cors,
    docs::Docs,
    invoke_permission::{may_invoke, refused, refused_routes, API_GATEWAY},
    metrics,
    response_log::ResponseLog,
    stack::Functions,
    throttle::{self, Throttles},
};
use aws_sdk_cloudwatch::types::StandardUnit;
use base64::{engine::general_purpose::STANDARD, Engine};
use bytes::Bytes;
use cartwheel_template::{Authorizer, Expr, RouteMatch, RouteTable, Template, TemplateError};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{
    body::Incoming, server::conn::http1, service::service_fn, Request, Response, StatusCode,
};
use hyper_util::rt::TokioIo;
use lambda_http::{
    aws_lambda_events::{
        apigw::{ApiGatewayRequestAuthorizer, ApiGatewayV2httpRequest},
        query_map::QueryMap,
    },
    request::LambdaRequest,
    Body,
};
use serde_json::Value;
use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Instant,
};
use tokio::net::TcpListener;

/// API Gateway's own payload limit for HTTP APIs.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("template.yaml declares {0}, but the stack did not deploy it")]
    MissingHandler(String),
    #[error("route uses authorizer {0}, which the HttpApi does not declare")]
    UnknownAuthorizer(String),
    #[error("{0}")]
    Setting(String),
}

pub(super) type AuthDecision = Option<Value>;

pub struct Gateway {
    routes: RouteTable,
    pub(super) authorizers: HashMap<String, Authorizer>,
    pub(super) functions: Arc<Functions>,
    pub(super) auth_cache: Mutex<HashMap<(String, String), (Instant, AuthDecision)>>,
    cors: Option<Cors>,
    access_log: bool,
    response_log: Option<ResponseLog>,
    docs: Option<Docs>,
    /// The `ApiId` dimension of the `AWS/ApiGateway` metrics: what `!Ref` of the HttpApi gives.
    api_id: String,
    /// Authorizers whose function API Gateway may not invoke (no invoke permission): every
    /// request they guard gets 500, as in AWS.
    pub(super) refused_authorizers: HashMap<String, String>,
    /// Routes whose function it may not invoke: function and source, by route key.
    refused_routes: HashMap<String, (String, String)>,
    throttles: Throttles,
}

/// The function that answered a request and how long it took, for the access log and the
/// `IntegrationLatency` metric.
#[derive(Clone)]
struct Integration {
    function: String,
    latency_ms: f64,
}

fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

impl Gateway {
    /// Checks that every function the template declares has a handler before serving anything.
    pub fn new(template: &Template, deployed: Arc<Functions>) -> Result<Self, GatewayError> {
        let functions = template.functions()?;
        if let Some(missing) = functions
            .iter()
            .find(|f| deployed.get(&f.logical_id).is_none())
        {
            return Err(GatewayError::MissingHandler(missing.logical_id.clone()));
        }
        let authorizers: HashMap<String, Authorizer> = template
            .authorizers()
            .into_iter()
            .map(|a| (a.name.clone(), a))
            .collect();
        for name in functions
            .iter()
            .flat_map(|f| &f.routes)
            .filter_map(|r| r.authorizer.as_ref())
        {
            if !authorizers.contains_key(name) {
                return Err(GatewayError::UnknownAuthorizer(name.clone()));
            }
        }
        let api_id = api_id(template, &deployed);
        let resources = &deployed.resources;
        let refused_authorizers = authorizers
            .values()
            .filter_map(|a| {
                let source = format!(
                    "arn:aws:execute-api:{}:{}:{api_id}/authorizers/{}",
                    resources.region, resources.account, a.name
                );
                let allowed = may_invoke(template, resources, &a.function, API_GATEWAY, &source);
                (!allowed).then(|| (a.name.clone(), source))
            })
            .collect();
        let refused_routes = refused_routes(template, resources, &api_id, &functions);
        let setting = std::env::var("CARTWHEEL_GATEWAY_THROTTLE").ok();
        let scale = throttle::scale_from(setting.as_deref()).map_err(GatewayError::Setting)?;
        Ok(Self {
            routes: template.route_table()?,
            throttles: Throttles::new(template.throttles(), scale),
            refused_authorizers,
            refused_routes,
            authorizers,
            auth_cache: Mutex::default(),
            cors: template.cors().map(Cors::new),
            access_log: false,
            response_log: None,
            docs: None,
            api_id,
            functions: deployed,
        })
    }

    /// Prints one line per request (method, path, status, ms, function), as the HTTP API's access
    /// log would record it.
    pub fn with_access_log(mut self) -> Self {
        self.access_log = true;
        self
    }

    /// Serves the contract and its viewer before any route (the offline stack's `/docs`).
    pub fn with_docs(mut self, docs: Docs) -> Self {
        self.docs = Some(docs);
        self
    }

    /// Records every answer in `log` (the test command's contract check).
    pub fn with_response_log(mut self, log: ResponseLog) -> Self {
        self.response_log = Some(log);
        self
    }

    pub async fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        if let Some(page) = self
            .docs
            .as_ref()
            .and_then(|d| d.answer(method.as_str(), &path))
        {
            return page;
        }
        let response = self.answer(request, peer).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let integration = response.extensions().get::<Integration>();
        self.observe(response.status(), latency_ms, integration);
        if let Some(log) = &self.response_log {
            let route = match self.routes.resolve(method.as_str(), &path) {
                RouteMatch::Route { route_key, .. } => route_key,
                RouteMatch::Default { .. } => "$default".to_owned(),
            };
            log.record(method.as_str(), &route, &response).await;
        }
        if self.access_log {
            println!(
                "{method} {path} {} {latency_ms:.1} ms {}",
                response.status().as_u16(),
                integration.map_or("(gateway)", |i| i.function.as_str())
            );
        }
        response
    }

    /// The `AWS/ApiGateway` metrics an HTTP API emits for one request: `4xx` and `5xx` are 0 or
    /// 1 per request, so their average is the error rate.
    fn observe(&self, status: StatusCode, latency_ms: f64, integration: Option<&Integration>) {
        let api = [("ApiId", self.api_id.as_str())];
        let flag = |hit: bool| if hit { 1.0 } else { 0.0 };
        let observe =
            |name, unit, value| metrics::observe("AWS/ApiGateway", name, unit, value, &api);
        observe("Count", StandardUnit::Count, 1.0);
        observe("4xx", StandardUnit::Count, flag(status.is_client_error()));
        observe("5xx", StandardUnit::Count, flag(status.is_server_error()));
        observe("Latency", StandardUnit::Milliseconds, latency_ms);
        if let Some(integration) = integration {
            observe(
                "IntegrationLatency",
                StandardUnit::Milliseconds,
                integration.latency_ms,
            );
        }
    }

    /// CORS around the route's answer.
    async fn answer(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let Some(cors) = &self.cors else {
            return self.route(request, peer).await;
        };
        let origin = request.headers().get(hyper::header::ORIGIN).cloned();
        if !Cors::is_preflight(request.method(), request.headers()) {
            let mut response = self.route(request, peer).await;
            cors.decorate(origin.as_ref(), &mut response);
            return response;
        }
        let taken = match self.routes.resolve("OPTIONS", request.uri().path()) {
            RouteMatch::Route { .. } => true,
            RouteMatch::Default { function, .. } => function.is_some(),
        };
        if !taken {
            return cors.preflight(origin.as_ref());
        }
        let mut response = self.route(request, peer).await;
        cors.decorate_preflight(origin.as_ref(), &mut response);
        response
    }

    async fn route(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_PAYLOAD_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return gateway_answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
            }
        };
        let path = parts.uri.path().to_owned();
        let (route_key, function, authorizer, path_parameters) =
            match self.routes.resolve(parts.method.as_str(), &path) {
                RouteMatch::Route {
                    route_key,
                    function,
                    authorizer,
                    path_parameters,
                } => (route_key, function.to_owned(), authorizer, path_parameters),
                RouteMatch::Default {
                    function: Some(function),
                    ..
                } => ("$default".to_owned(), function.to_owned(), None, Vec::new()),
                RouteMatch::Default { function: None, .. } => {
                    return gateway_answer(StatusCode::NOT_FOUND, "Not Found")
                }
            };
        if !self.throttles.admit(&route_key) {
            return gateway_answer(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        }

        let mut event = ApiGatewayV2httpRequest::default();
        event.version = Some("2.0".into());
        event.route_key = Some(route_key.clone());
        event.raw_path = Some(path.clone());
        event.raw_query_string = Some(parts.uri.query().unwrap_or_default().to_owned());
        event.query_string_parameters = parts
            .uri
            .query()
            .unwrap_or_default()
            .parse::<QueryMap>()
            .unwrap_or_default();
        event.path_parameters = path_parameters
            .into_iter()
            .map(|(k, v)| (k, decode(&v)))
            .collect();
        event.headers = parts.headers;
        event.request_context =
            self.request_context(&route_key, &parts.method, &path, peer, &event.headers);
        match std::str::from_utf8(&body) {
            Ok(text) if !text.is_empty() => event.body = Some(text.to_owned()),
            Ok(_) => {}
            Err(_) => {
                event.body = Some(STANDARD.encode(&body));
                event.is_base64_encoded = true;
            }
        }

        if let Some(name) = authorizer {
            match self.authorize(name, &event).await {
                Ok(context) => {
                    let mut authorizer = ApiGatewayRequestAuthorizer::default();
                    authorizer.fields = serde_json::from_value(context).unwrap_or_default();
                    event.request_context.authorizer = Some(authorizer);
                }
                Err(refusal) => return refusal.answer(),
            }
        }
        if let Some((function, source)) = self.refused_routes.get(&route_key) {
            refused(function, API_GATEWAY, source);
            return internal_server_error();
        }
        self.invoke(&function, event).await
    }

    /// Runs the handler in its sandbox; a failed invocation (timeout, panic, throttle, failed cold
    /// start) becomes API Gateway's 500, as an HTTP API answers a failed Lambda integration.
    async fn invoke(
        &self,
        function: &str,
        event: ApiGatewayV2httpRequest,
    ) -> Response<Full<Bytes>> {
        let Some(deployed) = self.functions.get(function) else {
            return internal_server_error();
        };
        let request: lambda_http::Request = LambdaRequest::ApiGatewayV2(event).into();
        let started = Instant::now();
        let answer = deployed.http(request).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let response = match answer {
            Ok(answer) => answer.unwrap_or_else(|e| cartwheel_http::problem(&e)),
            Err(_) => return internal_server_error(),
        };
        let (parts, body) = response.into_parts();
        let bytes = match body {
            Body::Empty => Bytes::new(),
            Body::Text(text) => Bytes::from(text),
            Body::Binary(binary) => Bytes::from(binary),
            _ => Bytes::new(),
        };
        let mut response = Response::from_parts(parts, Full::new(bytes));
        response.extensions_mut().insert(Integration {
            function: function.to_owned(),
            latency_ms,
        });
        response
    }
}

/// What `!Ref` of the template's HTTP API gives in this stack.
fn api_id(template: &Template, deployed: &Functions) -> String {
    template
        .ids_of_type("AWS::Serverless::HttpApi")
        .into_iter()
        .next()
        .and_then(|id| deployed.resources.resolve(&Expr::Ref(id)).ok())
        .unwrap_or_default()
}

/// Serves `gateway` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) -> std::io::Result<()> {
    crate::accept::accept_forever(listener, |stream, peer| {
        let _ = stream.set_nodelay(true);
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(gateway.handle(request, peer).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    })
    .await;
    Ok(())
}
