//! A function's environment, exactly as Lambda gives it: read once at cold start. In AWS it is the
//! process environment; offline, the local runtime builds it from template.yaml for each function,
//! so a function sees only the settings its own definition gives it.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set for this function (template.yaml)")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("what environment variable {name} names cannot be read")]
    Unreadable {
        name: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The stack's name: the `service` dimension of every metric, as Powertools names it.
pub const SERVICE_NAME: &str = "SERVICE_NAME";

/// The CDN's shared secret (`origin`): empty or unset without the CDN.
pub const ORIGIN_VERIFY: &str = "ORIGIN_VERIFY";

/// Every variable a Cartwheel function reads; a test holds template.yaml to this list.
pub const SETTINGS: [&str; 23] = [
    SERVICE_NAME,
    "TABLE_NAME",
    "JWT_SECRET_ID",
    "ACCESS_TOKEN_TTL_SECONDS",
    "STATE_MACHINE_ARN",
    "EVENT_BUS_NAME",
    "UNREADABLE_CHANGES_QUEUE_URL",
    "ORDER_QUEUE_URL",
    "PENDING_GRACE_SECONDS",
    "NOTIFICATION_SENDER",
    "STOCK_ALERT_EMAIL",
    "WEBSOCKET_ENDPOINT",
    "LOGIN_LIMIT_PER_ACCOUNT",
    "LOGIN_LIMIT_PER_ADDRESS",
    "SIGN_UP_LIMIT_PER_ADDRESS",
    "PASSWORD_HASH_LIMIT",
    "ORDER_LIMIT_PER_CUSTOMER",
    "PAYMENT_BREAKER_THRESHOLD",
    "PAYMENT_BREAKER_OPEN_SECONDS",
    ORIGIN_VERIFY,
    // Read by the telemetry crate's subscriber.
    "RUST_LOG",
    // Read by the AWS SDK; empty in AWS (see template.yaml's Globals).
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env(HashMap<String, String>);

impl Env {
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &'static str) -> Result<&str, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    /// A whole number of seconds, or `default` when the variable is not set.
    pub fn seconds(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        self.get(name).map_or(Ok(default), |raw| {
            raw.parse().map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("{raw:?} is not a whole number of seconds"),
            })
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_setting_is_named() {
        let env = Env::from_pairs([("TABLE_NAME".into(), String::new())]);
        let error = env.require("TABLE_NAME").unwrap_err();
        assert!(error.to_string().contains("TABLE_NAME"), "{error}");
    }

    #[test]
    fn seconds_parse_or_default() {
        let env = Env::from_pairs([("PENDING_GRACE_SECONDS".into(), "soon".into())]);
        assert!(env.seconds("PENDING_GRACE_SECONDS", 1).is_err());
        assert_eq!(env.seconds("ACCESS_TOKEN_TTL_SECONDS", 60).unwrap(), 60);
    }
}
