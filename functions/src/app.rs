use aws_config::SdkConfig;
use cartwheel_http::ApiError;
use cartwheel_identity::{JwtSecret, TokenError, TokenService};
use cartwheel_store::Store;
use std::env;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Settings read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    /// Only the functions that issue or check tokens are given the secret.
    pub jwt_secret: Option<JwtSecret>,
    pub access_token_ttl_seconds: u64,
}

impl Config {
    pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 3600;

    pub fn from_env() -> Result<Self, ConfigError> {
        let table_name = env::var("TABLE_NAME").map_err(|_| ConfigError::Missing("TABLE_NAME"))?;
        let jwt_secret = env::var("JWT_SECRET")
            .ok()
            .map(|raw| JwtSecret::parse(&raw))
            .transpose()
            .map_err(|e: TokenError| ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: e.to_string(),
            })?;
        let access_token_ttl_seconds = match env::var("ACCESS_TOKEN_TTL_SECONDS") {
            Ok(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
                name: "ACCESS_TOKEN_TTL_SECONDS",
                reason: format!("{raw:?} is not a whole number of seconds"),
            })?,
            Err(_) => Self::DEFAULT_TOKEN_TTL_SECONDS,
        };
        Ok(Self {
            table_name,
            jwt_secret,
            access_token_ttl_seconds,
        })
    }
}

/// What handlers depend on; built once per cold start and shared by every invocation.
pub struct App {
    pub store: Store,
    tokens: Option<TokenService>,
}

impl App {
    pub fn new(sdk: &SdkConfig, config: &Config) -> Self {
        Self {
            store: Store::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
            tokens: config
                .jwt_secret
                .as_ref()
                .map(|secret| TokenService::new(secret, config.access_token_ttl_seconds)),
        }
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
