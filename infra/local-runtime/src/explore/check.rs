//! The invariants every schedule must leave true, read back from the table: each order settled
//! and holding exactly what the lifecycle says its status holds, and each product's stock equal
//! to what it started with, plus the deltas, minus the units live orders hold.

use cartwheel_domain::{Order, OrderStatus, Product, ProductId, ReservationState};
use cartwheel_store::{GetProduct, ReadOrderRecords, Store};
use std::{collections::HashMap, sync::Mutex};

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
