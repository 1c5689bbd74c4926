//! The app as a black box: a test's offline stack (`StackOptions`) with the gateway and the
//! WebSocket API on free ports (`TestApp`), and the requests a test sends it.

use super::{
    aws::{edge, sdk_config_for},
    store::{fresh_name, store_for},
    templates::{edited_template, template},
};
use cartwheel_domain::{Email, NewUser, Password, PersonName, Role, UserId};
use cartwheel_functions::{deps::Dependencies, saga::SagaInput, Env};
use cartwheel_identity::TokenService;
use cartwheel_local::{
    response_log::ResponseLog,
    sandbox::Deployed,
    serve,
    stack::{EventSourceSettings, OfflineStack, StackError, StackSettings},
    websocket::WebSocketApi,
    Gateway,
};
use cartwheel_store::Store;
use cartwheel_template::Template;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::Duration,
};

pub struct TestApp {
    pub base_url: String,
    /// The WebSocket API of realtime order status (`ws://127.0.0.1:<port>`).
    pub ws_url: String,
    /// The test's own access to the table, for arranging and checking state; the functions have
    /// only their roles' access.
    pub store: Store,
    /// The SDK's config of this stack (its own access key: `sdk_config_for`), for a test's own
    /// clients of its table.
    pub sdk: aws_config::SdkConfig,
    pub tokens: TokenService,
    pub http: reqwest::Client,
    pub template: Template,
    /// The whole offline stack; dropping the last reference stops its pollers.
    pub stack: Arc<OfflineStack>,
    /// Whether this is the stack the API-only tests share (`shared()`).
    shared: bool,
}

/// What the tests sharing one stack need of it.
struct SharedStack {
    base_url: String,
    sdk: aws_config::SdkConfig,
    ws_url: String,
    stack: Arc<OfflineStack>,
}

/// Starts the shared stack once, on a runtime of its own: each `#[tokio::test]` has a runtime
/// that ends with the test, and would take the gateway it spawned with it.
fn shared_stack() -> &'static SharedStack {
    static SHARED: OnceLock<Result<SharedStack, String>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        let (started, stack) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("shared-stack".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for the shared stack");
                runtime.block_on(async move {
                    let app = TestApp::start().await;
                    let shared = SharedStack {
                        base_url: app.base_url.clone(),
                        sdk: app.sdk.clone(),
                        ws_url: app.ws_url.clone(),
                        stack: Arc::clone(&app.stack),
                    };
                    started.send(shared).expect("a test waits for the stack");
                    // The gateway and the WebSocket API serve on this runtime until the binary ends.
                    std::future::pending::<()>().await
                })
            })
            .expect("a thread for the shared stack");
        // A start that failed is remembered: every later test fails at once, not by starting
        // another stack. The shared thread's panic, printed above, says why.
        stack
            .recv()
            .map_err(|_| "the shared stack did not start; see the first panic above".to_owned())
    });
    shared.as_ref().expect("the shared stack")
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
        let template = edited_template(&options.template_edits);
        let name = fresh_name();
        let sdk = sdk_config_for(&name).await;
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
            sdk,
            tokens,
            http: reqwest::Client::new(),
            template,
            stack: Arc::new(stack),
            shared: false,
        })
    }

    /// The stack the tests share that only call the API and arrange state under keys of their
    /// own (their own customers, products and SKUs), as zero-to-production's `spawn_app` does
    /// once per binary. It has no event sources, as `start()`. A test that reads what every
    /// test writes (a whole listing), needs settings or faults of its own, invokes functions
    /// directly, or spends a throttle others need (the argon2 routes' burst of 10) starts its
    /// own instead. The test's store, tokens and HTTP client are its own.
    pub async fn shared() -> Self {
        let shared = shared_stack();
        let sdk = shared.sdk.clone();
        Self {
            base_url: shared.base_url.clone(),
            ws_url: shared.ws_url.clone(),
            store: store_for(&sdk, &shared.stack.name).await,
            tokens: tokens_of(&shared.stack, &sdk).await,
            sdk,
            http: reqwest::Client::new(),
            template: template(),
            stack: Arc::clone(&shared.stack),
            shared: true,
        }
    }

    /// The API and its functions, with no event source running.
    pub async fn start() -> Self {
        Self::start_stack(StackOptions::api_only()).await
    }

    pub fn function(&self, logical_id: &str) -> Arc<Deployed> {
        // Its functions' clients were built on the shared runtime; invoked from this test's, they
        // would leave pooled connections that die with the test.
        assert!(
            !self.shared,
            "a test that invokes functions directly starts a stack of its own"
        );
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
