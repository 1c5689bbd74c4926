//! The audit trail: every domain event, stored as it was delivered (the EventBridge event's JSON,
//! byte for byte), append-only, under the entity it is about and in time order.

use crate::{
    keys,
    once::Applied,
    transaction::{self, s, Item},
    ListAudit, RecordAudit, Store, StoreError,
};
use serde::Serialize;

/// One event about one entity (an order or a product).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub entity_id: String,
    pub event_id: String,
    pub detail_type: String,
    pub occurred_at: String,
    /// The event exactly as the bus delivered it.
    pub event: serde_json::Value,
}

/// What the audit consumer appends: the fields a record is found by, and the delivered text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAuditRecord<'a> {
    pub entity_id: &'a str,
    pub event_id: &'a str,
    pub detail_type: &'a str,
    pub occurred_at: &'a str,
    pub raw: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    pub next_cursor: Option<String>,
}

const CURSOR_KEYS: [&str; 2] = ["PK", "SK"];

impl RecordAudit for Store {
    #[tracing::instrument(skip_all, fields(entityId = record.entity_id, eventId = record.event_id))]
    async fn record_audit(&self, record: &NewAuditRecord<'_>) -> Result<Applied, StoreError> {
        let mut item: Item = transaction::key(keys::audit_record(
            record.entity_id,
            record.occurred_at,
            record.event_id,
        ));
        item.insert("entityId".into(), s(record.entity_id));
        item.insert("eventId".into(), s(record.event_id));
        item.insert("detailType".into(), s(record.detail_type));
        item.insert("occurredAt".into(), s(record.occurred_at));
        item.insert("event".into(), s(record.raw));
        // The record's key holds the event's id, so the record is its own dedup record: one
        // conditional PutItem, no transaction, and it never expires, as a trail must not.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Applied::Now),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Applied::Already)
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl ListAudit for Store {
    #[tracing::instrument(skip_all, fields(entityId = entity_id))]
    async fn list_audit(
        &self,
        entity_id: &str,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<AuditPage, StoreError> {
        let partition = keys::audit_partition(entity_id);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(&partition));
        let (items, next_cursor) = self
            .query_page(query, limit, cursor, &CURSOR_KEYS, |key| {
                key["PK"] == partition
            })
            .await?;
        let items = items.iter().map(record_from).collect::<Result<_, _>>()?;
        Ok(AuditPage { items, next_cursor })
    }
}

fn record_from(item: &Item) -> Result<AuditRecord, StoreError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| StoreError::corrupt(format!("audit record {name}"), "missing"))
    };
    let raw = text("event")?;
    let event = serde_json::from_str(&raw)
        .map_err(|e| StoreError::corrupt(format!("audit record {:?}", item.get("SK")), e))?;
    Ok(AuditRecord {
        entity_id: text("entityId")?,
        event_id: text("eventId")?,
        detail_type: text("detailType")?,
        occurred_at: text("occurredAt")?,
        event,
    })
}
