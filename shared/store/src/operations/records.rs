//! The audit trail and the sales figures, each written once per event.

use crate::{Applied, AuditPage, NewAuditRecord, SaleChange, SalesFigure, StoreError};
use cartwheel_domain::Day;
use std::future::Future;

pub trait RecordAudit {
    /// Appends `record` once, however often its event is delivered.
    fn record_audit(
        &self,
        record: &NewAuditRecord<'_>,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait ListAudit {
    /// An entity's events, oldest first.
    fn list_audit(
        &self,
        entity_id: &str,
        limit: u16,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<AuditPage, StoreError>> + Send;
}

pub trait RecordSale {
    /// Moves one day's figures by an order's status change, once per event.
    fn record_sale(
        &self,
        change: &SaleChange,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait SalesReport {
    /// The figures of each of `days`.
    fn sales_report(
        &self,
        days: &[Day],
    ) -> impl Future<Output = Result<Vec<SalesFigure>, StoreError>> + Send;
}
