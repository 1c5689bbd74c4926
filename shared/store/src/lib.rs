//! The single DynamoDB table (see docs/data-model.md). Every write that can race is conditional,
//! and uniqueness (SKU, e-mail) is guarded by a second item in the same transaction.

mod audit;
mod breaker;
mod cart;
mod connections;
mod cursor;
mod emails;
mod error;
mod favourites;
// Public for the tools that address items as the store does (the SDK floor example).
pub mod keys;
mod limits;
mod listing;
mod notifications;
mod once;
mod operations;
mod order_details;
mod orders;
mod payments;
mod products;
mod records;
mod reservations;
mod reviews;
mod sales;
mod settle;
mod stock_alerts;
mod stock_changes;
mod transaction;
mod users;

pub use audit::{AuditPage, AuditRecord, NewAuditRecord};
pub use cartwheel_domain::{PaymentState, ReservationState, ShipmentState};
pub use emails::{Claim, Mailing};
pub use error::StoreError;
pub use favourites::{Added, Favourite, MAX_FAVOURITES};
pub use limits::Counter;
pub use listing::{CategorySummary, PriceRange, ProductPage, ProductQuery};
pub use notifications::NotificationPage;
pub use once::{Applied, DEDUP_DAYS};
pub use operations::*;
pub use order_details::OrderDetails;
pub use orders::{EarlierOrder, IdempotentRequest, OrderPage, Placement};
pub use payments::{Payment, Shipment};
pub use reservations::{Reservation, ReserveOutcome};
pub use reviews::{AuthoredReview, ReviewPage};
pub use sales::{SaleChange, SaleLine, SalesFigure};
pub use settle::{OrderRecords, Settled};
pub use stock_alerts::{AlertChange, AlertStatus, StockAlert};
pub use users::Credentials;

use aws_sdk_dynamodb::Client;

/// The table and a client reused across invocations.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}
