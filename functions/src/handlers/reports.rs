//! What the event consumers keep, read by admins: the audit trail, the sales figures and the
//! stock alerts.

use super::{
    catalog::{page_size, parse_query},
    store_error,
};
use cartwheel_domain::Day;
use cartwheel_http::{json, query_param, ApiError, ApiResult, Caller};
use cartwheel_store::{AlertStatus, ListAudit, ListStockAlerts, SalesFigure, SalesReport};
use lambda_http::{http::StatusCode, Request};
use serde::Serialize;
use std::collections::BTreeMap;

/// A report spans at most a quarter: 92 queries, one per day partition.
pub const MAX_REPORT_DAYS: i64 = 92;

fn required<T>(value: Option<T>, name: &'static str) -> Result<T, ApiError> {
    value.ok_or(ApiError::InvalidQueryParameter {
        name,
        message: "is required".into(),
    })
}

/// `GET /admin/audit?entityId=&limit&cursor`: an order's or a product's events, oldest first.
#[tracing::instrument(skip_all, fields(entityId))]
pub async fn audit_trail(store: &impl ListAudit, request: Request) -> ApiResult {
    Caller::admin(&request)?;
    let entity = parse_query(&request, "entityId", |raw| {
        ulid::Ulid::from_string(raw)
            .map(|id| id.to_string())
            .map_err(|_| "must be an order's or a product's id".to_owned())
    })?;
    let entity = required(entity, "entityId")?;
    tracing::Span::current().record("entityId", entity.as_str());
    let limit = page_size(&request)?;
    let cursor = query_param(&request, "cursor");
    let page = store
        .list_audit(&entity, limit, cursor.as_deref())
        .await
        .map_err(store_error)?;
    json(StatusCode::OK, &page)
}

#[derive(Debug, Default, Serialize)]
struct CurrencyTotal {
    orders: i64,
    units: i64,
    revenue: i64,
}

#[derive(Serialize)]
struct Report {
    from: String,
    to: String,
    items: Vec<SalesFigure>,
    /// Per currency: revenue in different currencies is never added up.
    totals: BTreeMap<String, CurrencyTotal>,
}

fn day(request: &Request, name: &'static str) -> Result<Day, ApiError> {
    let day = parse_query(request, name, |raw| Day::parse(raw).map_err(|e| e.0))?;
    required(day, name)
}

/// `GET /admin/reports/sales?from=YYYY-MM-DD&to=YYYY-MM-DD`: per day, product and currency.
#[tracing::instrument(skip_all)]
pub async fn sales_report(store: &impl SalesReport, request: Request) -> ApiResult {
    Caller::admin(&request)?;
    let (from, to) = (day(&request, "from")?, day(&request, "to")?);
    if to < from {
        return Err(ApiError::InvalidQueryParameter {
            name: "to",
            message: "must not be before from".into(),
        });
    }
    if from.count_through(to) > MAX_REPORT_DAYS {
        return Err(ApiError::InvalidQueryParameter {
            name: "to",
            message: format!("must be at most {MAX_REPORT_DAYS} days after from, from included"),
        });
    }
    let days: Vec<Day> = from.through(to).collect();
    let mut items = store.sales_report(&days).await.map_err(store_error)?;
    // A product whose every sale of the day was cancelled has figures of zero: nothing to show.
    items.retain(|f| f.orders != 0 || f.units != 0 || f.revenue != 0);
    let mut totals: BTreeMap<String, CurrencyTotal> = BTreeMap::new();
    for figure in &items {
        let total = totals.entry(figure.currency.clone()).or_default();
        total.orders += figure.orders;
        total.units += figure.units;
        total.revenue += figure.revenue;
    }
    let report = Report {
        from: from.to_string(),
        to: to.to_string(),
        items,
        totals,
    };
    json(StatusCode::OK, &report)
}

/// `GET /admin/stock-alerts?status=open|closed|all` (open when absent): newest change first.
#[tracing::instrument(skip_all)]
pub async fn stock_alerts(store: &impl ListStockAlerts, request: Request) -> ApiResult {
    Caller::admin(&request)?;
    let wanted = parse_query(&request, "status", |raw| match raw {
        "open" => Ok(Some(AlertStatus::Open)),
        "closed" => Ok(Some(AlertStatus::Closed)),
        "all" => Ok(None),
        _ => Err("must be open, closed or all".to_owned()),
    })?
    .unwrap_or(Some(AlertStatus::Open));
    let mut alerts = store.list_stock_alerts().await.map_err(store_error)?;
    alerts.retain(|alert| wanted.is_none_or(|status| alert.status == status));
    alerts.sort_by(|a, b| {
        let changed = |alert: &cartwheel_store::StockAlert| alert.closed_at.max(alert.opened_at);
        changed(b).cmp(&changed(a))
    });
    json(StatusCode::OK, &serde_json::json!({ "items": alerts }))
}
