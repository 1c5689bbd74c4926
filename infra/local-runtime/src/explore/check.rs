//! The invariants every schedule must leave true, read back from the table: each order settled
//! and holding exactly what the lifecycle says its status holds, each product's stock equal
//! to what it started with, plus the deltas, minus the units live orders hold, and the business
//! metrics and sales figures equal to the table's facts.

use cartwheel_domain::{Day, Order, OrderId, OrderStatus, Product, ProductId, ReservationState};
use cartwheel_http::ErrorChain;
use cartwheel_store::{GetProduct, ReadOrderRecords, SalesReport, Store, StoreError};
use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

/// Why the table's facts could not be read for a schedule: a report line (the schedule is
/// broken), with the store's cause where there is one.
#[derive(Debug, thiserror::Error)]
enum FactsError {
    #[error("order {order}: unreadable")]
    Unreadable {
        order: OrderId,
        #[source]
        source: StoreError,
    },
    #[error("order {0}: gone")]
    Gone(OrderId),
    #[error("order {order}: a reservation record {reservation} but a history {history}")]
    Inconsistent {
        order: OrderId,
        reservation: String,
        history: String,
    },
}

/// What happened to the schedule's products outside the saga.
pub struct Ledger {
    initial: HashMap<ProductId, i64>,
    deltas: Mutex<HashMap<ProductId, i64>>,
    deleted: Mutex<Vec<ProductId>>,
}

impl Ledger {
    pub fn new(products: &[Product]) -> Self {
        Self {
            initial: products.iter().map(|p| (p.id, p.stock.units())).collect(),
            deltas: Mutex::default(),
            deleted: Mutex::default(),
        }
    }

    pub fn delta(&self, product: ProductId, delta: i64) {
        *self
            .deltas
            .lock()
            .expect("not poisoned")
            .entry(product)
            .or_default() += delta;
    }

    pub fn deleted(&self, product: ProductId) {
        self.deleted.lock().expect("not poisoned").push(product);
    }
}

/// Every invariant the table breaks, one line each (none: the schedule passed).
pub async fn invariants(store: &Store, orders: &[Order], ledger: &Ledger) -> Vec<String> {
    let mut broken = Vec::new();
    let mut held: HashMap<ProductId, i64> = HashMap::new();
    for order in orders {
        let records = match store.order_records(order.id).await {
            Ok(records) => records,
            Err(error) => {
                let error = ErrorChain(&error);
                broken.push(format!("order {}: unreadable: {error}", order.id));
                continue;
            }
        };
        let Some(stored) = &records.order else {
            broken.push(format!("order {}: gone", order.id));
            continue;
        };
        let actual = records.holdings();
        let status = stored.status;
        if status.in_checkout(actual) {
            broken.push(format!(
                "order {}: still in checkout, {status:?} {actual:?}",
                order.id
            ));
        } else if !status
            .settled()
            .is_some_and(|expected| expected.admits(actual))
        {
            broken.push(format!("order {}: {status:?} holds {actual:?}", order.id));
        }
        if let Some(r) = &records.reservation {
            if matches!(
                r.state,
                ReservationState::Held | ReservationState::Committed
            ) {
                for (product, quantity) in &r.lines {
                    *held.entry(*product).or_default() += quantity.units();
                }
            }
        }
        if status == OrderStatus::Shipped && records.shipment.is_none() {
            broken.push(format!("order {}: SHIPPED without a shipment", order.id));
        }
    }
    let deltas = ledger.deltas.lock().expect("not poisoned").clone();
    let deleted = ledger.deleted.lock().expect("not poisoned").clone();
    for (product, initial) in &ledger.initial {
        if deleted.contains(product) {
            continue;
        }
        let expected = initial + deltas.get(product).copied().unwrap_or(0)
            - held.get(product).copied().unwrap_or(0);
        match store.get_product(*product).await {
            Ok(Some(p)) if p.stock.units() == expected && expected >= 0 => {}
            Ok(Some(p)) => broken.push(format!(
                "product {product}: stock {} but initial {initial} + deltas {:?} - held {:?} = {expected}",
                p.stock.units(),
                deltas.get(product),
                held.get(product)
            )),
            other => broken.push(format!("product {product}: {other:?}")),
        }
    }
    broken
}

/// What the table says the checkout's metrics and the schedule's sales figures must be.
#[derive(Debug, Default, PartialEq)]
struct Facts {
    counts: BTreeMap<&'static str, usize>,
    /// Per product: orders, units, revenue.
    sales: BTreeMap<ProductId, [i64; 3]>,
}

/// The facts from each order as stored: its status and its history of moves, which every status
/// change appends to in the same write (not from the stream, which is what the consumer reads).
async fn facts(store: &Store, orders: &[Order]) -> Result<Facts, FactsError> {
    let mut facts = Facts::default();
    let mut add = |name, yes: bool| *facts.counts.entry(name).or_default() += usize::from(yes);
    for order in orders {
        let records =
            store
                .order_records(order.id)
                .await
                .map_err(|source| FactsError::Unreadable {
                    order: order.id,
                    source,
                })?;
        let stored = records.order.ok_or(FactsError::Gone(order.id))?;
        let was = |status| stored.history.iter().any(|change| change.status == status);
        let final_status = stored.status;
        add("OrdersAccepted", was(OrderStatus::Reserved));
        add("OrdersRejected", final_status == OrderStatus::Rejected);
        add(
            "SagasCompensated",
            final_status == OrderStatus::PaymentFailed,
        );
        add("SagasCompleted", was(OrderStatus::Confirmed));
        // One sample per order whose checkout ended: confirmed, rejected, or failed unconfirmed.
        let ended = was(OrderStatus::Confirmed)
            || matches!(
                final_status,
                OrderStatus::Rejected | OrderStatus::PaymentFailed
            );
        add("CheckoutDuration", ended);
        if records.reservation.is_some() != was(OrderStatus::Reserved) {
            return Err(FactsError::Inconsistent {
                order: order.id,
                reservation: format!("{:?}", records.reservation),
                history: format!("{:?}", stored.history),
            });
        }
        if final_status.is_sale() {
            let mut per_product: BTreeMap<ProductId, [i64; 3]> = BTreeMap::new();
            for line in &stored.lines {
                let entry = per_product.entry(line.product_id).or_default();
                entry[1] += line.quantity.units();
                entry[2] += line.line_total.amount;
            }
            for (product, [_, units, revenue]) in per_product {
                let entry = facts.sales.entry(product).or_default();
                entry[0] += 1;
                entry[1] += units;
                entry[2] += revenue;
            }
        }
    }
    Ok(facts)
}

/// The business metrics the schedule's consumer emitted and its products' sales figures, each
/// against the table's facts: every difference, one line each.
pub async fn figures(
    store: &Store,
    orders: &[Order],
    products: &[Product],
    emitted: &HashMap<String, Vec<f64>>,
    days: &[Day],
) -> Vec<String> {
    let expected = match facts(store, orders).await {
        Ok(facts) => facts,
        Err(broken) => return vec![ErrorChain(&broken).to_string()],
    };
    let mut broken = Vec::new();
    for (metric, count) in &expected.counts {
        let samples = emitted.get(*metric).map_or(0, |values| match *metric {
            "CheckoutDuration" => values.len(),
            _ => values.iter().sum::<f64>() as usize,
        });
        if samples != *count {
            broken.push(format!(
                "metric {metric}: {samples}, the table says {count}"
            ));
        }
    }
    let report = match store.sales_report(days).await {
        Ok(report) => report,
        Err(error) => {
            let error = ErrorChain(&error);
            return vec![format!("sales figures unreadable: {error}")];
        }
    };
    for product in products {
        let mut figures = [0i64; 3];
        for figure in report
            .iter()
            .filter(|f| f.product_id == product.id.to_string())
        {
            figures[0] += figure.orders;
            figures[1] += figure.units;
            figures[2] += figure.revenue;
        }
        let expected = expected.sales.get(&product.id).copied().unwrap_or_default();
        if figures != expected {
            broken.push(format!(
                "sales of product {}: orders, units, revenue {figures:?}, the table says {expected:?}",
                product.id
            ));
        }
    }
    broken
}
