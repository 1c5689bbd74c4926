//! What each function is built from at cold start: its settings and only the AWS clients it uses.
//! A function's binary names its dependency type, so it links no client it does not call.

use crate::{
    config::{ConfigError, Env},
    handoff::{OrderQueue, SagaStarter},
};
use aws_config::SdkConfig;
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

    fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError>;
}

async fn no_aws() -> SdkConfig {
    SdkConfig::builder().build()
}

/// A function that calls nothing.
impl Dependencies for () {
    fn aws_config() -> impl Future<Output = SdkConfig> + Send {
        no_aws()
    }

    fn build(_: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        Ok(())
    }
}

impl<A: Dependencies, B: Dependencies> Dependencies for (A, B) {
    fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        Ok((A::build(env, sdk)?, B::build(env, sdk)?))
    }
}

impl Dependencies for Store {
    fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let table = env.require("TABLE_NAME")?;
        Ok(Store::new(aws_sdk_dynamodb::Client::new(sdk), table))
    }
}

pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 3600;

impl Dependencies for TokenService {
    fn aws_config() -> impl Future<Output = SdkConfig> + Send {
        no_aws()
    }

    fn build(env: &Env, _: &SdkConfig) -> Result<Self, ConfigError> {
        let secret =
            JwtSecret::parse(env.require("JWT_SECRET")?).map_err(|e| ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: e.to_string(),
            })?;
        let ttl = env.seconds("ACCESS_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS)?;
        Ok(TokenService::new(&secret, ttl))
    }
}

impl Dependencies for SagaStarter {
    fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let arn = env.require("STATE_MACHINE_ARN")?;
        Ok(SagaStarter::new(aws_sdk_sfn::Client::new(sdk), arn))
    }
}

impl Dependencies for Publisher {
    fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let bus = env.require("EVENT_BUS_NAME")?;
        Ok(Publisher::new(aws_sdk_eventbridge::Client::new(sdk), bus))
    }
}

pub const DEFAULT_PENDING_GRACE_SECONDS: u64 = 120;

/// The sweeper's queue and how long an order may stay PENDING before it is handed off again.
pub struct PendingSweep {
    pub queue: OrderQueue,
    pub grace: Duration,
}

impl Dependencies for PendingSweep {
    fn build(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let url = env.require("ORDER_QUEUE_URL")?;
        let grace = env.seconds("PENDING_GRACE_SECONDS", DEFAULT_PENDING_GRACE_SECONDS)?;
        Ok(Self {
            queue: OrderQueue::new(aws_sdk_sqs::Client::new(sdk), url),
            grace: Duration::from_secs(grace),
        })
    }
}
