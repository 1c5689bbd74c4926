//! How a stack's resources are named in ARNs, for IAM's checks of the calls made to them.

use std::collections::HashMap;

/// How the stack's resources are named, to turn a request's names and URLs into ARNs.
#[derive(Debug, Clone, Default)]
pub struct ArnScheme {
    /// `arn:aws:dynamodb:<region>:<account>:table/`, as DynamoDB Local names its tables.
    pub table_prefix: String,
    pub region: String,
    pub account: String,
    /// Queue URL → ARN for the queues the stack created.
    pub queues: HashMap<String, String>,
    /// Secret name → ARN (which ends in Secrets Manager's random `-XXXXXX`).
    pub secrets: HashMap<String, String>,
}

impl ArnScheme {
    pub(crate) fn table(&self, name: &str) -> String {
        format!("{}{name}", self.table_prefix)
    }

    pub(crate) fn queue(&self, url: &str) -> String {
        self.queues.get(url).cloned().unwrap_or_else(|| {
            let name = url.rsplit('/').next().unwrap_or(url);
            format!("arn:aws:sqs:{}:{}:{name}", self.region, self.account)
        })
    }

    pub(crate) fn bus(&self, name: Option<&str>) -> String {
        match name {
            Some(arn) if arn.starts_with("arn:") => arn.to_owned(),
            other => format!(
                "arn:aws:events:{}:{}:event-bus/{}",
                self.region,
                self.account,
                other.unwrap_or("default")
            ),
        }
    }
}
