use crate::handoff::{OrderQueue, SagaStarter};
use aws_config::SdkConfig;
use cartwheel_events::Publisher;
use cartwheel_http::ApiError;
use cartwheel_identity::{JwtSecret, TokenError, TokenService};
use cartwheel_store::Store;
use std::{env, time::Duration};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
    #[error("environment variable {0} means nothing to Cartwheel's functions")]
    Unknown(String),
}

/// Settings read once at cold start. Each function is given only what it uses (template.yaml).
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub jwt_secret: Option<JwtSecret>,
    pub access_token_ttl_seconds: u64,
    /// The checkout saga, for the function that starts it.
    pub state_machine_arn: Option<String>,
    /// The bus domain events go to, for the publisher.
    pub event_bus_name: Option<String>,
    /// The queue that hands orders to the saga, for the sweeper.
    pub order_queue_url: Option<String>,
    /// How long an order may stay PENDING before the sweeper hands it off again.
    pub pending_grace_seconds: u64,
}

fn seconds(name: &str, raw: &str) -> Result<u64, ConfigError> {
    raw.parse().map_err(|_| ConfigError::Invalid {
        name: name.to_owned(),
        reason: format!("{raw:?} is not a whole number of seconds"),
    })
}

impl Config {
    pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 3600;
    pub const DEFAULT_PENDING_GRACE_SECONDS: u64 = 120;
    /// Every variable `set` understands, besides `TABLE_NAME`.
    pub const SETTINGS: [&'static str; 7] = [
        "JWT_SECRET",
        "ACCESS_TOKEN_TTL_SECONDS",
        "STATE_MACHINE_ARN",
        "EVENT_BUS_NAME",
        "ORDER_QUEUE_URL",
        "PENDING_GRACE_SECONDS",
        "RUST_LOG",
    ];

    /// Only the table; everything else unset or at its default.
    pub fn for_table(table_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            jwt_secret: None,
            access_token_ttl_seconds: Self::DEFAULT_TOKEN_TTL_SECONDS,
            state_machine_arn: None,
            event_bus_name: None,
            order_queue_url: None,
            pending_grace_seconds: Self::DEFAULT_PENDING_GRACE_SECONDS,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let table_name = env::var("TABLE_NAME").map_err(|_| ConfigError::Missing("TABLE_NAME"))?;
        let mut config = Self::for_table(table_name);
        for name in Self::SETTINGS {
            if let Ok(value) = env::var(name) {
                config.set(name, &value)?;
            }
        }
        Ok(config)
    }

    /// Applies one environment variable as template.yaml names it.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let text = || Some(value.to_owned()).filter(|v| !v.is_empty());
        match name {
            "TABLE_NAME" => self.table_name = value.to_owned(),
            "JWT_SECRET" => {
                let secret =
                    JwtSecret::parse(value).map_err(|e: TokenError| ConfigError::Invalid {
                        name: name.to_owned(),
                        reason: e.to_string(),
                    })?;
                self.jwt_secret = Some(secret);
            }
            "ACCESS_TOKEN_TTL_SECONDS" => self.access_token_ttl_seconds = seconds(name, value)?,
            "STATE_MACHINE_ARN" => self.state_machine_arn = text(),
            "EVENT_BUS_NAME" => self.event_bus_name = text(),
            "ORDER_QUEUE_URL" => self.order_queue_url = text(),
            "PENDING_GRACE_SECONDS" => self.pending_grace_seconds = seconds(name, value)?,
            // Read by the telemetry crate's subscriber.
            "RUST_LOG" => {}
            other => return Err(ConfigError::Unknown(other.to_owned())),
        }
        Ok(())
    }
}

/// What handlers depend on; built once per cold start and shared by every invocation.
pub struct App {
    pub store: Store,
    tokens: Option<TokenService>,
    saga: Option<SagaStarter>,
    publisher: Option<Publisher>,
    order_queue: Option<OrderQueue>,
    pub pending_grace: Duration,
}

impl App {
    pub fn new(sdk: &SdkConfig, config: &Config) -> Self {
        Self {
            store: Store::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
            tokens: config
                .jwt_secret
                .as_ref()
                .map(|secret| TokenService::new(secret, config.access_token_ttl_seconds)),
            saga: config
                .state_machine_arn
                .as_ref()
                .map(|arn| SagaStarter::new(aws_sdk_sfn::Client::new(sdk), arn)),
            publisher: config
                .event_bus_name
                .as_ref()
                .map(|bus| Publisher::new(aws_sdk_eventbridge::Client::new(sdk), bus)),
            order_queue: config
                .order_queue_url
                .as_ref()
                .map(|url| OrderQueue::new(aws_sdk_sqs::Client::new(sdk), url)),
            pending_grace: Duration::from_secs(config.pending_grace_seconds),
        }
    }

    pub fn saga(&self) -> Result<&SagaStarter, ConfigError> {
        self.saga
            .as_ref()
            .ok_or(ConfigError::Missing("STATE_MACHINE_ARN"))
    }

    pub fn publisher(&self) -> Result<&Publisher, ConfigError> {
        self.publisher
            .as_ref()
            .ok_or(ConfigError::Missing("EVENT_BUS_NAME"))
    }

    pub fn order_queue(&self) -> Result<&OrderQueue, ConfigError> {
        self.order_queue
            .as_ref()
            .ok_or(ConfigError::Missing("ORDER_QUEUE_URL"))
    }

    /// Loads AWS settings the usual way; offline, `AWS_ENDPOINT_URL_DYNAMODB` points the same
    /// client at DynamoDB Local.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_from_env().await;
        Ok(Self::new(&sdk, &config))
    }

    pub fn tokens(&self) -> Result<&TokenService, ApiError> {
        self.tokens
            .as_ref()
            .ok_or_else(|| ApiError::internal("JWT_SECRET is not configured for this function"))
    }
}
