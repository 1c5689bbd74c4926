//! What each function is built from at cold start: its settings and only the AWS clients it uses.
//! A function's binary names its dependency type, so it links no client it does not call.

use crate::{
    config::{ConfigError, Env},
    consumers::stock_alerts::AlertRecipient,
    handoff::{OrderQueue, PendingSweep, SagaStarter, DEFAULT_PENDING_GRACE_SECONDS},
    limits::{HashLimit, LoginLimits, OrderLimit, SignUpLimits},
    mail::Mailer,
    push::Connections,
    unreadable::UnreadableChanges,
};
use aws_config::SdkConfig;
use cartwheel_domain::{BreakerPolicy, Email, RateLimit};
use cartwheel_events::Publisher;
use cartwheel_identity::{JwtSecret, TokenService};
use cartwheel_store::Store;
use std::{future::Future, time::Duration};

pub trait Dependencies: Sized + Send + Sync + 'static {
    /// The AWS configuration these dependencies are built with, loaded at cold start. Dependencies
    /// that call no AWS service override it with an empty one, so the binaries of their functions
    /// carry no credential chain, no TLS and no HTTP/2 client.
    fn aws_config() -> impl Future<Output = SdkConfig> + Send {
        aws_config::load_from_env()
    }

    /// Builds them once, at cold start; a setting they need that is missing or wrong fails it.
    fn build(env: &Env, sdk: &SdkConfig) -> impl Future<Output = Result<Self, ConfigError>> + Send;
}

async fn no_aws() -> SdkConfig {
    SdkConfig::builder().build()
}

/// A function that calls nothing.
impl Dependencies for () {
    fn aws_config() -> impl Future<Output = SdkConfig> + Send {
        no_aws()
    }

    async fn build(_: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        Ok(())
    }
}

impl<A: Dependencies, B: Dependencies> Dependencies for (A, B) {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        Ok((A::build(env, sdk).await?, B::build(env, sdk).await?))
    }
}

impl Dependencies for Store {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let table = env.require("TABLE_NAME")?;
        Ok(Store::new(aws_sdk_dynamodb::Client::new(sdk), table))
    }
}

pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 3600;

/// The signing key is read from Secrets Manager once, at cold start: it is never in the function's
/// environment, where anyone allowed `lambda:GetFunctionConfiguration` could read it.
impl Dependencies for TokenService {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        const SECRET: &str = "JWT_SECRET_ID";
        let id = env.require(SECRET)?;
        let value = aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| ConfigError::Unreadable {
                name: SECRET,
                source: Box::new(e),
            })?;
        let secret = JwtSecret::parse(value.secret_string().unwrap_or_default()).map_err(|e| {
            ConfigError::Invalid {
                name: SECRET,
                reason: format!("the secret it names is not a signing key: {e}"),
            }
        })?;
        let ttl = env.seconds("ACCESS_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS)?;
        Ok(TokenService::new(&secret, ttl))
    }
}

impl Dependencies for Mailer {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let from = env.require("NOTIFICATION_SENDER")?;
        Ok(Mailer::new(aws_sdk_sesv2::Client::new(sdk), from))
    }
}

impl Dependencies for AlertRecipient {
    async fn build(env: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        const NAME: &str = "STOCK_ALERT_EMAIL";
        let raw = env.require(NAME)?;
        let email = Email::parse(raw).map_err(|e| ConfigError::Invalid {
            name: NAME,
            reason: format!("{raw:?} {e}"),
        })?;
        Ok(Self(email))
    }
}

/// The management API of the stage `WEBSOCKET_ENDPOINT` names (`https://<api>.execute-api...`).
impl Dependencies for Connections {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let endpoint = env.require("WEBSOCKET_ENDPOINT")?;
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Ok(Connections::new(
            aws_sdk_apigatewaymanagement::Client::from_conf(config),
        ))
    }
}

impl Dependencies for Publisher {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let bus = env.require("EVENT_BUS_NAME")?;
        Ok(Publisher::new(aws_sdk_eventbridge::Client::new(sdk), bus))
    }
}

impl Dependencies for UnreadableChanges {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let url = env.require("UNREADABLE_CHANGES_QUEUE_URL")?;
        Ok(UnreadableChanges::new(aws_sdk_sqs::Client::new(sdk), url))
    }
}

/// The limits' production defaults, which template.yaml's parameters repeat.
pub const DEFAULT_LOGIN_LIMIT_PER_ACCOUNT: &str = "5/900";
pub const DEFAULT_LOGIN_LIMIT_PER_ADDRESS: &str = "100/900";
pub const DEFAULT_SIGN_UP_LIMIT_PER_ADDRESS: &str = "20/3600";
pub const DEFAULT_PASSWORD_HASH_LIMIT: &str = "25/1";
pub const DEFAULT_ORDER_LIMIT_PER_CUSTOMER: &str = "30/60";

fn rate_limit(env: &Env, name: &'static str, default: &str) -> Result<RateLimit, ConfigError> {
    let raw = env.get(name).unwrap_or(default);
    raw.parse()
        .map_err(|e: cartwheel_domain::InvalidValue| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        })
}

impl Dependencies for LoginLimits {
    async fn build(env: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            per_account: rate_limit(
                env,
                "LOGIN_LIMIT_PER_ACCOUNT",
                DEFAULT_LOGIN_LIMIT_PER_ACCOUNT,
            )?,
            per_address: rate_limit(
                env,
                "LOGIN_LIMIT_PER_ADDRESS",
                DEFAULT_LOGIN_LIMIT_PER_ADDRESS,
            )?,
            hashes: hash_limit(env)?,
        })
    }
}

impl Dependencies for SignUpLimits {
    async fn build(env: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            per_address: rate_limit(
                env,
                "SIGN_UP_LIMIT_PER_ADDRESS",
                DEFAULT_SIGN_UP_LIMIT_PER_ADDRESS,
            )?,
            hashes: hash_limit(env)?,
        })
    }
}

fn hash_limit(env: &Env) -> Result<HashLimit, ConfigError> {
    rate_limit(env, "PASSWORD_HASH_LIMIT", DEFAULT_PASSWORD_HASH_LIMIT).map(HashLimit)
}

impl Dependencies for OrderLimit {
    async fn build(env: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        let limit = rate_limit(
            env,
            "ORDER_LIMIT_PER_CUSTOMER",
            DEFAULT_ORDER_LIMIT_PER_CUSTOMER,
        )?;
        Ok(Self(limit))
    }
}

pub const DEFAULT_BREAKER_THRESHOLD: u64 = 5;
pub const DEFAULT_BREAKER_OPEN_SECONDS: u64 = 30;

/// The card processor's circuit breaker: failures in a row that open it, and for how long.
impl Dependencies for BreakerPolicy {
    async fn build(env: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        const THRESHOLD: &str = "PAYMENT_BREAKER_THRESHOLD";
        let threshold = env.seconds(THRESHOLD, DEFAULT_BREAKER_THRESHOLD)?;
        let threshold = u32::try_from(threshold)
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| ConfigError::Invalid {
                name: THRESHOLD,
                reason: format!("{threshold} is not a number of failures from 1"),
            })?;
        let open = env.seconds("PAYMENT_BREAKER_OPEN_SECONDS", DEFAULT_BREAKER_OPEN_SECONDS)?;
        Ok(Self {
            threshold,
            open_for: Duration::from_secs(open),
        })
    }
}

impl Dependencies for SagaStarter {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let arn = env.require("STATE_MACHINE_ARN")?;
        Ok(SagaStarter::new(aws_sdk_sfn::Client::new(sdk), arn))
    }
}

impl Dependencies for PendingSweep {
    async fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let url = env.require("ORDER_QUEUE_URL")?;
        let grace = env.seconds("PENDING_GRACE_SECONDS", DEFAULT_PENDING_GRACE_SECONDS)?;
        Ok(Self {
            queue: OrderQueue::new(aws_sdk_sqs::Client::new(sdk), url),
            grace: Duration::from_secs(grace),
        })
    }
}
