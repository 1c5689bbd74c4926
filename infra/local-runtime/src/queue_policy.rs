//! Queue policies offline: whether a rule (the service principal `events.amazonaws.com`, with the
//! rule as `aws:SourceArn`) may send to a queue, as the template's `AWS::SQS::QueuePolicy` says.

use crate::{iam::wildcard_match, queues::QueueAddress, resources::Resources};
use cartwheel_template::Template;

/// A queue policy that says something this code does not evaluate: the stack is refused rather
/// than given a guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue policy {policy} says {unsupported:?}, which the offline stack does not evaluate")]
pub struct UnevaluatedPolicy {
    pub policy: String,
    pub unsupported: Vec<String>,
}

/// Whether the policies admit the rule's sends to `queue`; an error when a policy says something
/// (a `Deny`, a condition other than `ArnEquals aws:SourceArn`) that this code does not
/// evaluate, rather than a guess.
pub fn admits(
    template: &Template,
    resources: &Resources,
    rule_arn: &str,
    queue: &QueueAddress,
) -> Result<bool, UnevaluatedPolicy> {
    let policies = template.queue_policies();
    if let Some(unread) = policies.iter().find(|p| !p.unsupported.is_empty()) {
        return Err(UnevaluatedPolicy {
            policy: unread.logical_id.clone(),
            unsupported: unread.unsupported.clone(),
        });
    }
    let resolved = |exprs: &[cartwheel_template::Expr]| -> Vec<String> {
        exprs
            .iter()
            .filter_map(|e| resources.resolve(e).ok())
            .collect()
    };
    Ok(policies.iter().any(|statement| {
        statement.service.as_deref() == Some("events.amazonaws.com")
            && resolved(&statement.queues).contains(&queue.url)
            && statement
                .actions
                .iter()
                .any(|a| wildcard_match(&a.to_ascii_lowercase(), "sqs:sendmessage"))
            && resolved(&statement.resources)
                .iter()
                .any(|r| wildcard_match(r, &queue.arn))
            && statement
                .source_arns
                .as_ref()
                .is_none_or(|arns| resolved(arns).iter().any(|a| a == rule_arn))
    }))
}
