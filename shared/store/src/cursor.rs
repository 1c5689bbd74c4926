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

impl crate::Store {
    /// One page of `query`: at most `limit` items after `cursor`, and the cursor of the page after
    /// it. The cursor holds the key attributes `names`; `belongs` says whether a returned cursor
    /// continues this query.
    pub(crate) async fn query_page(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        limit: u16,
        cursor: Option<&str>,
        names: &[&str],
        belongs: impl FnOnce(&BTreeMap<String, String>) -> bool,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let start = cursor.map(|c| decode(c, names, belongs)).transpose()?;
        let output = query
            .limit(i32::from(limit))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let next = output
            .last_evaluated_key
            .as_ref()
            .and_then(|key| encode(key, names));
        Ok((output.items.unwrap_or_default(), next))
    }
}
