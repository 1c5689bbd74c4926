//! Starts the app as a black box: a fresh table in DynamoDB Local and the gateway on a free port.
//! `scripts/test` starts DynamoDB Local and moto and points the AWS SDK at them.
#![allow(dead_code)]

pub mod checkout;
pub mod conflicts;
pub mod fixtures;

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, Metric, MetricDataQuery, MetricStat},
};
use aws_sdk_dynamodb::types::AttributeValue::S;
use cartwheel_domain::{
    Email, IdempotencyKey, NewProduct, NewUser, Order, OrderLine, OrderStatus, Password,
    PaymentToken, PersonName, Product, ProductId, Quantity, Role, ShippingAddress, Timestamp,
    UserId,
};
use cartwheel_functions::{deps::Dependencies, saga::SagaInput, Env};
use cartwheel_identity::TokenService;
use cartwheel_local::{
    aws_edge::{serve_edge, AwsEdge},
    provision,
    response_log::ResponseLog,
    sandbox::Deployed,
    serve,
    stack::{EventSourceSettings, OfflineStack, StackError, StackSettings},
    websocket::WebSocketApi,
    Gateway,
};
use cartwheel_store::{CreateProduct, IdempotentRequest, PlaceOrder, Store};
use cartwheel_template::Template;
use reqwest::{Method, Response, StatusCode};
use serde_json::json;
use serde_json::Value;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

pub struct TestApp {
    pub base_url: String,
    /// The WebSocket API of realtime order status (`ws://127.0.0.1:<port>`).
    pub ws_url: String,
    /// The test's own access to the table, for arranging and checking state; the functions have
    /// only their roles' access.
    pub store: Store,
    pub tokens: TokenService,
    pub http: reqwest::Client,
    pub template: Template,
    /// The whole offline stack; dropping it stops its pollers.
    pub stack: OfflineStack,
}

pub fn template() -> Template {
    Template::parse(cartwheel_template::EMBEDDED).expect("template.yaml parses")
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test, which starts DynamoDB Local and moto"
    );
    aws_config::load_from_env().await
}

fn fresh_name() -> String {
    format!("test-{}", ulid::Ulid::new()).to_lowercase()
}

/// A store on a brand-new table, for tests of the store itself.
pub async fn fresh_store() -> Store {
    let sdk = sdk_config().await;
    let table = fresh_name();
    provision::create_table(
        &aws_sdk_dynamodb::Client::new(&sdk),
        &table,
        &template().table().unwrap(),
    )
    .await
    .expect("the table is created");
    store_for(&sdk, &table).await
}

async fn store_for(sdk: &aws_config::SdkConfig, table: &str) -> Store {
    let env = Env::from_pairs([("TABLE_NAME".to_owned(), table.to_owned())]);
    Store::build(&env, sdk)
        .await
        .expect("a table name is all a store needs")
}

/// The process's one AWS edge, on `CARTWHEEL_AWS_EDGE_PORT` (the port moto was told is its own).
/// It runs on a thread of its own because every `#[tokio::test]` has its own runtime.
pub fn edge() -> Arc<AwsEdge> {
    static EDGE: OnceLock<Arc<AwsEdge>> = OnceLock::new();
    Arc::clone(EDGE.get_or_init(|| {
        let moto = std::env::var("AWS_ENDPOINT_URL").expect("scripts/test sets AWS_ENDPOINT_URL");
        let port = std::env::var("CARTWHEEL_AWS_EDGE_PORT")
            .expect("scripts/test sets CARTWHEEL_AWS_EDGE_PORT");
        let edge = Arc::new(AwsEdge::new(moto));
        let serving = Arc::clone(&edge);
        let (bound, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
                    .await
                    .expect("the AWS edge port is free");
                bound.send(()).unwrap();
                let _ = serve_edge(listener, serving).await;
            });
        });
        ready.recv().expect("the AWS edge starts");
        edge
    }))
}

/// Collects the functions' and the runtime's metrics into moto's CloudWatch, once per process, on
/// a thread of its own (every `#[tokio::test]` has its own runtime). Only the test binaries that
/// call this keep metrics; in the others the runtime's observations go nowhere.
pub fn collect_metrics() {
    static COLLECTING: OnceLock<()> = OnceLock::new();
    COLLECTING.get_or_init(|| {
        let (started, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let client = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
                let collect = cartwheel_local::metrics::collect_into(client)
                    .expect("this test binary installs the only metric sink");
                started.send(()).unwrap();
                collect.await;
            });
        });
        ready.recv().expect("the metrics collector starts");
    });
}

/// One statistic of one metric per second over the last ten minutes, oldest first.
pub async fn metric_series(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    name: &str,
    dimensions: &[(&str, &str)],
    stat: &str,
) -> Vec<f64> {
    let dimensions = dimensions
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
        .collect();
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(name)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(1)
        .stat(stat)
        .build();
    let query = MetricDataQuery::builder().id("q").metric_stat(stat).build();
    let now = SystemTime::now();
    let data = client
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from(now - Duration::from_secs(600)))
        .end_time(DateTime::from(now + Duration::from_secs(60)))
        .send()
        .await
        .expect("moto answers GetMetricData");
    data.metric_data_results()
        .iter()
        .flat_map(|r| r.values().iter().copied())
        .collect()
}

/// How a test's offline stack runs.
pub struct StackOptions {
    /// Whether queues, streams and schedules invoke their functions.
    pub event_sources: bool,
    pub play_pipes: bool,
    pub schedule_every: Option<Duration>,
    /// Text replacements applied to template.yaml first, to deploy a variant of it.
    pub template_edits: Vec<(String, String)>,
    /// Parameter values besides the offline stack's own.
    pub parameters: Vec<(String, String)>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            event_sources: true,
            play_pipes: true,
            schedule_every: None,
            template_edits: Vec::new(),
            parameters: Vec::new(),
        }
    }
}

impl StackOptions {
    /// No event sources: the API and the functions only.
    pub fn api_only() -> Self {
        Self {
            event_sources: false,
            ..Self::default()
        }
    }

    pub fn parameter(mut self, name: &str, value: &str) -> Self {
        self.parameters.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn edit(mut self, from: &str, to: &str) -> Self {
        self.template_edits.push((from.to_owned(), to.to_owned()));
        self
    }
}

/// The offline stack's parameters (as `scripts/start` has them, with tokens valid for 10 minutes),
/// then the test's own.
fn parameters(extra: &[(String, String)]) -> HashMap<String, String> {
    let mut parameters = cartwheel_local::parameters::offline(|_| None);
    parameters.insert("AccessTokenTtlSeconds".to_owned(), "600".to_owned());
    parameters.extend(extra.iter().cloned());
    parameters
}

/// Sleeps until a fixed window of `seconds` (a limit's) begins, so that what a test does next
/// falls in one window.
pub async fn next_window(seconds: u64) {
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = now.as_millis() % (u128::from(seconds) * 1000);
    let left = u64::try_from(u128::from(seconds) * 1000 - into).unwrap();
    tokio::time::sleep(Duration::from_millis(left + 50)).await;
}

/// template.yaml with `edits` applied; an edit that changes nothing is a broken test.
pub fn edited_template(edits: &[(String, String)]) -> Template {
    let mut text = cartwheel_template::EMBEDDED.to_owned();
    for (from, to) in edits {
        assert!(
            text.contains(from.as_str()),
            "template.yaml has no {from:?} to edit"
        );
        text = text.replacen(from.as_str(), to, 1);
    }
    Template::parse(&text).expect("the edited template parses")
}

/// Signs tokens with the key the stack generated, read from moto's Secrets Manager by the code
/// the functions run.
async fn tokens_of(stack: &OfflineStack, sdk: &aws_config::SdkConfig) -> TokenService {
    let env = Env::from_pairs([
        (
            "JWT_SECRET_ID".to_owned(),
            stack.secrets["JwtSigningKey"].clone(),
        ),
        ("ACCESS_TOKEN_TTL_SECONDS".to_owned(), "600".to_owned()),
    ]);
    TokenService::build(&env, sdk)
        .await
        .expect("the stack's signing key is readable")
}

/// Serves the template's WebSocket API on a free port; its `ws://` URL.
async fn serve_websocket(template: &Template, stack: &OfflineStack) -> String {
    let api = WebSocketApi::from_template(template, Arc::clone(&stack.functions))
        .expect("the WebSocket API is wired")
        .expect("template.yaml declares a WebSocket API");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(api.serve(listener));
    url
}

impl TestApp {
    /// The whole stack of template.yaml: queues, rules, pipes, the saga in moto, the publisher.
    pub async fn start_stack(options: StackOptions) -> Self {
        Self::try_start_stack(options)
            .await
            .expect("the offline stack starts")
    }

    /// The stack, or why it did not start (as AWS would not deploy it).
    pub async fn try_start_stack(options: StackOptions) -> Result<Self, StackError> {
        cartwheel_telemetry::init_logging();
        let sdk = sdk_config().await;
        let template = edited_template(&options.template_edits);
        let name = fresh_name();
        let settings = StackSettings {
            name: name.clone(),
            parameters: parameters(&options.parameters),
            template_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")),
            moto_url: std::env::var("AWS_ENDPOINT_URL").unwrap(),
            event_sources: EventSourceSettings {
                enabled: options.event_sources,
                schedule_every: options.schedule_every,
                play_pipes: options.play_pipes,
            },
        };
        let stack = OfflineStack::start(&template, &sdk, &edge(), settings).await?;
        let mut gateway = Gateway::new(&template, Arc::clone(&stack.functions))
            .expect("every function is deployed");
        // The test command checks every answer recorded here against api/openapi.yaml; a stack
        // built from an edited template.yaml (a broken variant, on purpose) is not that API, and
        // a stack behind the CDN called around it answers what its clients never see (403).
        let behind_cdn = options
            .parameters
            .iter()
            .any(|(k, v)| k == "EnableCdn" && v == "true");
        let recorded = std::env::var_os("CARTWHEEL_RESPONSE_LOG")
            .filter(|_| options.template_edits.is_empty() && !behind_cdn);
        if let Some(path) = recorded {
            let log = ResponseLog::open(path.as_ref()).expect("the response log opens");
            gateway = gateway.with_response_log(log);
        }
        let gateway = Arc::new(gateway);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, gateway));
        let tokens = tokens_of(&stack, &sdk).await;
        let ws_url = serve_websocket(&template, &stack).await;
        Ok(Self {
            base_url,
            ws_url,
            store: store_for(&sdk, &name).await,
            tokens,
            http: reqwest::Client::new(),
            template,
            stack,
        })
    }

    /// The API and its functions, with no event source running.
    pub async fn start() -> Self {
        Self::start_stack(StackOptions::api_only()).await
    }

    pub fn function(&self, logical_id: &str) -> Arc<Deployed> {
        self.stack
            .function(logical_id)
            .expect("a function of the stack")
    }

    /// Runs a saga step in its sandbox, as Step Functions would invoke it.
    pub async fn step(
        &self,
        logical_id: &str,
        order: cartwheel_domain::OrderId,
    ) -> cartwheel_functions::saga::StepResult {
        self.function(logical_id)
            .step(SagaInput { order_id: order })
            .await
            .expect("the step ran to an answer")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends `body` (raw text, as JSON) with an optional bearer token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        request.send().await.expect("the gateway answers")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None, None).await
    }

    /// A conditional GET: sends `If-None-Match: tag`.
    pub async fn get_if_none_match(&self, path: &str, tag: &str) -> Response {
        self.http
            .get(self.url(path))
            .header("if-none-match", tag)
            .send()
            .await
            .expect("the gateway answers")
    }

    /// Registers a user directly in the store and returns an access token for them.
    pub async fn user_token(&self, role: Role) -> (UserId, String) {
        let new = NewUser {
            email: Email::parse(&format!("{}@example.com", ulid::Ulid::new()).to_lowercase())
                .unwrap(),
            password: Password::parse("a long enough password").unwrap(),
            name: PersonName::parse("Test User").unwrap(),
        };
        let user = cartwheel_functions::handlers::identity::register(&self.store, new, role)
            .await
            .unwrap();
        (
            user.id,
            self.tokens.issue(user.id, role).unwrap().access_token,
        )
    }

    pub async fn admin_token(&self) -> String {
        self.user_token(Role::Admin).await.1
    }

    pub async fn create_product(
        &self,
        admin: &str,
        sku: &str,
        name: &str,
        category: &str,
        price: i64,
    ) -> Value {
        let body = serde_json::json!({
            "sku": sku, "name": name, "description": format!("{name} description"),
            "category": category, "price": {"amount": price, "currency": "EUR"}, "stock": 10
        });
        let response = self
            .send(
                Method::POST,
                "/products",
                Some(admin),
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {sku}");
        response.json().await.unwrap()
    }
}

/// Asserts a problem+json answer with `status` whose detail mentions `mentions`.
pub async fn assert_problem(response: Response, status: StatusCode, mentions: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(mentions),
        "detail {detail:?} should mention {mentions:?}"
    );
    body
}

/// Asserts that of concurrent attempts exactly one got `winner` and every other got `loser`.
pub fn assert_exactly_one(statuses: &[StatusCode], winner: StatusCode, loser: StatusCode) {
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(winner), 1, "{statuses:?}");
    assert_eq!(count(loser), statuses.len() - 1, "{statuses:?}");
}

/// Every e-mail moto's SES has sent (it is shared by every stack of the run): each has
/// `destinations`, `source`, `subject` and `body`. moto serialises its whole state for this page
/// while other tests change it, and now and then answers with an error instead of JSON: the page
/// is read again, as a debugging endpoint is.
pub async fn sent_mail() -> Vec<Value> {
    let moto = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let url = format!("{moto}/moto-api/data.json");
    let mut attempts = 0;
    let data: Value = loop {
        attempts += 1;
        let response = reqwest::get(&url).await.expect("moto answers");
        let status = response.status();
        match response.json::<Value>().await {
            Ok(data) if status.is_success() => break data,
            outcome if attempts < 20 => {
                eprintln!(
                    "moto's data page failed ({status}, {:?}); reading it again",
                    outcome.err()
                );
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            outcome => panic!("moto's data page failed {attempts} times: {status}, {outcome:?}"),
        }
    };
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A product with `stock` units, written straight to the store.
pub async fn product(store: &Store, sku: &str, stock: i64) -> Product {
    let new: NewProduct =
        serde_json::from_value(json!({"sku": sku, "name": sku, "category": "misc",
        "price": {"amount": 500, "currency": "EUR"}, "stock": stock}))
        .unwrap();
    let product = Product::create(ProductId::generate(), new, Timestamp::now());
    store.create_product(&product).await.unwrap();
    product
}

/// A stored PENDING order for `lines` of (product, quantity), paid with `tok_visa`.
pub async fn pending_order(store: &Store, lines: &[(&Product, i64)]) -> Order {
    pending_order_paid_with(store, lines, "tok_visa").await
}

/// A stored PENDING order for `lines` of (product, quantity), paid with `token`.
pub async fn pending_order_paid_with(
    store: &Store,
    lines: &[(&Product, i64)],
    token: &str,
) -> Order {
    stored_order(
        store,
        UserId::generate(),
        lines,
        token,
        OrderStatus::Pending,
    )
    .await
}

/// A stored order of `user` for `lines`, paid with `token`, put straight into `status` (its
/// history says only PENDING): for tests that need an order's outcome, not its saga.
pub async fn stored_order(
    store: &Store,
    user: UserId,
    lines: &[(&Product, i64)],
    token: &str,
    status: OrderStatus,
) -> Order {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(p, q)| OrderLine::priced(p, Quantity::try_from(*q).unwrap()))
        .collect();
    let total = lines
        .iter()
        .map(|l| l.line_total.clone())
        .reduce(|a, b| a.plus(&b).unwrap())
        .unwrap();
    let address: ShippingAddress = serde_json::from_value(
        json!({"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"}),
    )
    .unwrap();
    let key = IdempotencyKey::parse(&UserId::generate().to_string()).unwrap();
    let mut order = Order::place(
        user,
        &key,
        lines,
        total,
        address,
        PaymentToken::parse(token).unwrap(),
        Timestamp::now(),
    );
    order.status = status;
    let key = IdempotentRequest {
        user,
        key,
        fingerprint: "f".into(),
    };
    store.place_order(&order, &key, &[]).await.unwrap();
    order
}

/// How many events of `event_type` the sales consumer has applied, counted by its dedup records
/// (`DEDUP#sales#<eventId>`, with `<eventId>` ending in the type; keys::dedup in the store): a
/// test waits on them, not on a report that passes through the figures it expects.
pub async fn sales_applied(app: &TestApp, event_type: &str) -> i32 {
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let scan = dynamodb
        .scan()
        .table_name(&app.stack.name)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .filter_expression("begins_with(PK, :consumer) AND contains(PK, :type)")
        .expression_attribute_values(":consumer", S("DEDUP#sales#".into()))
        .expression_attribute_values(":type", S(format!("#{event_type}")));
    let pages: Vec<_> = scan.into_paginator().send().collect().await;
    pages.into_iter().map(|page| page.unwrap().count).sum()
}

/// `GET /admin/reports/sales?from&to`, as an admin.
pub async fn sales(app: &TestApp, admin: &str, from: &str, to: &str) -> Value {
    let path = format!("/admin/reports/sales?from={from}&to={to}");
    let response = app.send(Method::GET, &path, Some(admin), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The sales report of yesterday and today: a run just after midnight UTC has its confirmations
/// on the day before.
pub async fn recent_sales(app: &TestApp, admin: &str) -> Value {
    let now = Timestamp::now();
    let yesterday = now.minus(Duration::from_secs(86_400)).utc_day();
    sales(
        app,
        admin,
        &yesterday.to_string(),
        &now.utc_day().to_string(),
    )
    .await
}
