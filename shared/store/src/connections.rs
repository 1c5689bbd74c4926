//! Open WebSocket connections: one item under the customer (so a push finds all of theirs) and
//! one under the connection (so `$disconnect`, which knows only its id, finds the customer), both
//! written and deleted together, and both expiring with the table's TTL once API Gateway would
//! have closed the connection anyway.

use crate::{
    keys,
    transaction::{self, key, n, s, Item},
    CloseConnection, ListConnections, OpenConnection, Store, StoreError,
};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use cartwheel_domain::{Timestamp, UserId};

fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build();
    Ok(TransactWriteItem::builder().put(put?).build())
}

fn delete(table: &str, at: (String, String)) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key(at)))
        .build();
    Ok(TransactWriteItem::builder().delete(delete?).build())
}

impl OpenConnection for Store {
    #[tracing::instrument(skip_all, fields(userId = %user, connectionId = connection_id))]
    async fn open_connection(
        &self,
        user: UserId,
        connection_id: &str,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        let mut mine = key(keys::connection(user, connection_id));
        let mut owner = key(keys::connection_owner(connection_id));
        for item in [&mut mine, &mut owner] {
            item.insert("connectionId".into(), s(connection_id));
            item.insert("userId".into(), s(user.to_string()));
            item.insert("expiresAt".into(), n(expires.unix_seconds()));
        }
        let items = vec![put(&self.table, mine)?, put(&self.table, owner)?];
        match transaction::settle(&self.client, items).await? {
            None => Ok(()),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl CloseConnection for Store {
    /// Idempotent: a connection closed already (or never stored) is no error.
    #[tracing::instrument(skip_all, fields(connectionId = connection_id))]
    async fn close_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        let Some(owner) = self
            .item(keys::connection_owner(connection_id), true)
            .await?
        else {
            return Ok(());
        };
        let user = owner
            .get("userId")
            .and_then(|v| v.as_s().ok()?.parse::<UserId>().ok())
            .ok_or_else(|| StoreError::corrupt(connection_id, "a connection without its user"))?;
        let items = vec![
            delete(&self.table, keys::connection(user, connection_id))?,
            delete(&self.table, keys::connection_owner(connection_id))?,
        ];
        match transaction::settle(&self.client, items).await? {
            None => Ok(()),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl ListConnections for Store {
    /// The customer's connections that have not expired (TTL deletes expired items only
    /// eventually).
    #[tracing::instrument(skip_all, fields(userId = %user))]
    async fn connections_of(&self, user: UserId) -> Result<Vec<String>, StoreError> {
        let (pk, _) = keys::connection(user, "");
        let now = Timestamp::now().unix_seconds();
        let items = self.query_prefix(&pk, keys::CONNECTION_PREFIX).await?;
        Ok(items
            .iter()
            .filter(|item| {
                item.get("expiresAt")
                    .and_then(|v| v.as_n().ok()?.parse::<i64>().ok())
                    .is_some_and(|expires| expires > now)
            })
            .filter_map(|item| Some(item.get("connectionId")?.as_s().ok()?.clone()))
            .collect())
    }
}
