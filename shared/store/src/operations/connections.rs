//! Customers' open WebSocket connections.

use crate::StoreError;
use cartwheel_domain::{Timestamp, UserId};
use std::future::Future;

pub trait OpenConnection {
    /// Records `user`'s WebSocket connection until `expires`.
    fn open_connection(
        &self,
        user: UserId,
        connection_id: &str,
        expires: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait CloseConnection {
    fn close_connection(
        &self,
        connection_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListConnections {
    /// The ids of `user`'s open WebSocket connections.
    fn connections_of(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}
