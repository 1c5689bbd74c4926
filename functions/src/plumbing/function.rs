//! A Lambda function as Cartwheel deploys it: its logical id in template.yaml, the dependencies it
//! is built from at cold start, and the handler each event goes to. The Lambda binaries run one of
//! these; the offline runtime instantiates every one of them in its own sandbox.

use crate::{
    config::{ConfigError, Env, SERVICE_NAME},
    deps::Dependencies,
};
use aws_config::SdkConfig;
use cartwheel_telemetry::{invocation, Source};
use futures::future::BoxFuture;
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

pub struct Function<D, E, O> {
    /// The logical id in template.yaml.
    pub name: &'static str,
    pub handle: fn(Arc<D>, E) -> BoxFuture<'static, O>,
}

/// A cold-started function: its dependencies are built, and each call handles one event in the
/// invocation's span, then emits its metrics.
pub type Invoke<E, O> = Arc<dyn Fn(E) -> BoxFuture<'static, O> + Send + Sync>;

/// What the offline runtime needs of a function whatever its dependencies: a cold start from an
/// environment and an SDK configuration of its own.
pub trait Instantiate<E, O>: Sync {
    fn name(&self) -> &'static str;
    fn instantiate<'a>(
        &'a self,
        env: &'a Env,
        sdk: &'a SdkConfig,
    ) -> BoxFuture<'a, Result<Invoke<E, O>, ConfigError>>;
}

/// What stands in front of a function's handler, decided at cold start from its environment: for
/// an HTTP route, the CDN's origin check (`origin`); for any other event, nothing.
pub trait Gate<O>: Sized + 'static {
    fn gate(invoke: Invoke<Self, O>, _env: &Env) -> Invoke<Self, O> {
        invoke
    }
}

impl<D: Dependencies, E: Gate<O>, O: 'static> Function<D, E, O> {
    pub async fn cold_start(
        &self,
        env: &Env,
        sdk: &SdkConfig,
    ) -> Result<Invoke<E, O>, ConfigError> {
        let deps = Arc::new(D::build(env, sdk).await?);
        let source = Arc::new(Source {
            service: env.require(SERVICE_NAME)?.to_owned(),
            function: self.name,
        });
        let handle = self.handle;
        let cold = AtomicBool::new(true);
        let invoke: Invoke<E, O> = Arc::new(move |event| {
            let cold_start = cold.swap(false, Ordering::Relaxed);
            let handled = handle(Arc::clone(&deps), event);
            Box::pin(invocation(Arc::clone(&source), cold_start, handled))
        });
        Ok(E::gate(invoke, env))
    }
}

impl<D: Dependencies, E: Gate<O>, O: 'static> Instantiate<E, O> for Function<D, E, O> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn instantiate<'a>(
        &'a self,
        env: &'a Env,
        sdk: &'a SdkConfig,
    ) -> BoxFuture<'a, Result<Invoke<E, O>, ConfigError>> {
        Box::pin(self.cold_start(env, sdk))
    }
}
