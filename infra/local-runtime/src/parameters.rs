//! The template parameters whose offline value differs from their production default, and the
//! variable of `scripts/start`'s environment that overrides each. The login limit per account
//! and the password checks' limit keep their production defaults (the limits stay on); the per-caller limits are raised because the
//! test suites and the burst experiments all come from 127.0.0.1, at well over 1,000 sign-ups and
//! orders a minute.

use std::collections::HashMap;

/// (parameter, overriding variable, offline value; `None`: the template's default).
pub const OFFLINE: [(&str, &str, Option<&str>); 6] = [
    ("AccessTokenTtlSeconds", "ACCESS_TOKEN_TTL_SECONDS", None),
    ("LoginLimitPerAccount", "LOGIN_LIMIT_PER_ACCOUNT", None),
    ("PasswordHashLimit", "PASSWORD_HASH_LIMIT", None),
    (
        "LoginLimitPerAddress",
        "LOGIN_LIMIT_PER_ADDRESS",
        Some("100000/900"),
    ),
    (
        "SignUpLimitPerAddress",
        "SIGN_UP_LIMIT_PER_ADDRESS",
        Some("100000/60"),
    ),
    (
        "OrderLimitPerCustomer",
        "ORDER_LIMIT_PER_CUSTOMER",
        Some("100000/60"),
    ),
];

/// The offline values, each replaced by its variable when `variable` answers one.
pub fn offline(variable: impl Fn(&str) -> Option<String>) -> HashMap<String, String> {
    OFFLINE
        .iter()
        .filter_map(|(parameter, name, value)| {
            let value = variable(name).or(value.map(str::to_owned))?;
            Some(((*parameter).to_owned(), value))
        })
        .collect()
}
