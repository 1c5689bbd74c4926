//! Pagination cursors: the key DynamoDB stopped at, as base64url JSON. Opaque to clients, and
//! checked when it comes back, so that a cursor can only continue the query it came from.

use crate::{
    transaction::{s, Item},
    StoreError,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::collections::BTreeMap;

/// `key`'s attributes `names` (all strings), or `None` if one is missing.
pub(crate) fn encode(key: &Item, names: &[&str]) -> Option<String> {
    let key: BTreeMap<&str, &str> = names
        .iter()
        .map(|name| Some((*name, key.get(*name)?.as_s().ok()?.as_str())))
        .collect::<Option<_>>()?;
    serde_json::to_vec(&key)
        .ok()
        .map(|json| URL_SAFE_NO_PAD.encode(json))
}

/// The key a cursor holds, if it holds exactly `names` and `belongs` accepts it.
pub(crate) fn decode(
    cursor: &str,
    names: &[&str],
    belongs: impl FnOnce(&BTreeMap<String, String>) -> bool,
) -> Result<Item, StoreError> {
    let json = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let key: BTreeMap<String, String> =
        serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
    let complete = key.len() == names.len() && names.iter().all(|k| key.contains_key(*k));
    if !complete || !belongs(&key) {
        return Err(StoreError::InvalidCursor);
    }
    Ok(key.into_iter().map(|(k, v)| (k, s(v))).collect())
}
