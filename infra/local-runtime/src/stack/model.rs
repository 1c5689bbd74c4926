//! What an offline stack is: its settings, its parts once started, and how it fails to start.

pub use crate::stack_functions::Functions;
use crate::{
    iam::{self, Principal},
    pattern::UnsupportedPattern,
    provision::{offline_name, ProvisionError},
    queue_policy::UnevaluatedPolicy,
    queues::QueueAddress,
    resources::{ResolveError, Resources},
};
use aws_config::SdkConfig;
use cartwheel_template::TemplateError;
use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Policy(#[from] iam::ExpandError),
    #[error(transparent)]
    Pattern(#[from] UnsupportedPattern),
    #[error(transparent)]
    QueuePolicy(#[from] UnevaluatedPolicy),
    /// An intrinsic of `what` (a function's environment, a dashboard's body) does not resolve.
    #[error("{what}")]
    Unresolved {
        what: String,
        #[source]
        source: ResolveError,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Wiring(String),
}

impl StackError {
    /// Why `what` could not be resolved, for `map_err`.
    pub(super) fn unresolved(what: impl Into<String>) -> impl FnOnce(ResolveError) -> Self {
        let what = what.into();
        move |source| Self::Unresolved { what, source }
    }
}

pub struct StackSettings {
    /// The table's name; everything else is named after it.
    pub name: String,
    /// Template parameters' offline values (the rest take their defaults).
    pub parameters: HashMap<String, String>,
    /// Where template.yaml's relative paths (ASL files) start.
    pub template_dir: PathBuf,
    /// moto's own address (not the edge's).
    pub moto_url: String,
    pub event_sources: EventSourceSettings,
}

#[derive(Debug, Clone, Copy)]
pub struct EventSourceSettings {
    /// Whether queues, streams and schedules invoke their functions at all.
    pub enabled: bool,
    /// Runs every schedule this often instead of at its `rate(...)`.
    pub schedule_every: Option<Duration>,
    /// Whether pipes run; a test switches them off to prove the sweeper alone hands orders off.
    pub play_pipes: bool,
}

pub struct OfflineStack {
    pub name: String,
    pub functions: Arc<Functions>,
    pub queues: HashMap<String, QueueAddress>,
    pub state_machines: HashMap<String, String>,
    pub bus: Option<String>,
    /// Generated secrets' ARNs by logical id.
    pub secrets: HashMap<String, String>,
    /// The dashboards' names in moto's CloudWatch.
    pub dashboards: Vec<String>,
    pub pipe_principals: Vec<Arc<Principal>>,
    pub(super) tasks: Vec<JoinHandle<()>>,
}

impl Drop for OfflineStack {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

pub(super) fn region(sdk: &SdkConfig) -> String {
    sdk.region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string)
}

pub(super) fn role_identity(resources: &Resources, stack: &str, principal: &str) -> String {
    let role = offline_name(stack, principal);
    format!(
        "arn:aws:sts::{}:assumed-role/{role}Role/{role}",
        resources.account
    )
}

pub(super) fn queue<'a>(
    queues: &'a HashMap<String, QueueAddress>,
    logical_id: &str,
) -> Result<&'a QueueAddress, StackError> {
    queues
        .get(logical_id)
        .ok_or_else(|| StackError::Wiring(format!("{logical_id} is not a queue of the template")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartwheel_template::Expr;

    #[test]
    fn an_unresolved_intrinsic_says_what_it_was_for_and_why() {
        let resources = Resources::new("us-east-1", "1", "shop", HashMap::new());
        let error = resources
            .resolve(&Expr::Ref("Nope".into()))
            .map_err(StackError::unresolved("F's environment"))
            .unwrap_err();
        assert_eq!(
            cartwheel_http::ErrorChain(&error).to_string(),
            "F's environment: !Ref Nope: the offline stack has no such resource or parameter"
        );
    }
}
