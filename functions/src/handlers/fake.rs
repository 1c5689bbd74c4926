//! The narrow store traits in memory, for the tests of a handler's decisions that DynamoDB Local
//! cannot stage: a store that fails at a chosen call.

use cartwheel_domain::{
    CartLine, Email, IdempotencyKey, NewProduct, Order, OrderId, OrderStatus, Product, ProductId,
    RateLimit, Timestamp, UserId,
};
use cartwheel_store::{
    Counter, Credentials, EarlierOrder, FindCredentials, FindEarlierOrder, GetCart, GetOrder,
    GetProducts, GiveBackSlot, IdempotentRequest, PlaceOrder, Placement, StoreError, TakeSlot,
};
use lambda_http::Request;
use std::{collections::HashMap, sync::Mutex};

/// A `sam local invoke` fixture from infra/events, as the handler receives it.
pub fn fixture_request(name: &str) -> Request {
    let path = format!("{}/../infra/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path} is missing"));
    lambda_http::request::from_str(&text).expect("a fixture is an API Gateway v2 event")
}

/// The product the fixtures order (`place-order.json`).
pub fn fixture_product() -> Product {
    let new: NewProduct = serde_json::from_value(serde_json::json!({"sku": "FIX-DEMO",
        "name": "Fixture product", "category": "kitchen",
        "price": {"amount": 999, "currency": "EUR"}, "stock": 7}))
    .expect("a valid product");
    let id: ProductId = "01HZX3N5Q8V2K7M4R9T6W1Y0AB".parse().expect("a ULID");
    Product::create(id, new, Timestamp::now())
}

fn injected() -> StoreError {
    StoreError::Call("injected failure".into())
}

#[derive(Default)]
pub struct FakeStore {
    pub products: Vec<Product>,
    pub cart: Vec<CartLine>,
    /// Orders stored, each with its request's fingerprint.
    pub orders: Mutex<Vec<EarlierOrder>>,
    /// The lookup by key misses, as when a concurrent attempt stores the order just after it.
    pub lookup_misses: bool,
    /// Every write of an order fails, as DynamoDB does when it throttles or is unreachable.
    pub fail_order_writes: bool,
    /// Every read of credentials fails.
    pub fail_credential_reads: bool,
    /// Hits per limit, subject and window.
    pub slots: Mutex<HashMap<String, u32>>,
    /// The statuses the saga moves a stored order through, one per read of it (the last one
    /// stays); empty, the order keeps the status it was stored with.
    pub saga: Mutex<Vec<OrderStatus>>,
    /// Reads of an order made so far.
    pub order_reads: Mutex<u32>,
    /// Every read of an order fails.
    pub fail_order_reads: bool,
}

impl FakeStore {
    /// Slots held on all limits, in all windows.
    pub fn slots_held(&self) -> u32 {
        self.slots.lock().unwrap().values().sum()
    }

    /// The order stored in `id`'s place, as DynamoDB keys it (`OrderId::placement`).
    fn stored_at(&self, id: OrderId) -> Option<EarlierOrder> {
        let orders = self.orders.lock().unwrap();
        let found = orders
            .iter()
            .find(|o| o.order.id.placement() == id.placement());
        found.cloned()
    }

    fn slot_name(counter: &Counter, limit: RateLimit, at: Timestamp) -> String {
        let window = limit.window_start(at);
        format!("{}#{}#{window}", counter.scope, counter.subject)
    }
}

impl TakeSlot for FakeStore {
    async fn take_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut slots = self.slots.lock().unwrap();
        let hits = slots
            .entry(Self::slot_name(counter, limit, now))
            .or_default();
        let taken = *hits < limit.max();
        *hits += u32::from(taken);
        Ok(taken)
    }
}

impl GiveBackSlot for FakeStore {
    async fn give_back_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        taken_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut slots = self.slots.lock().unwrap();
        let hits = slots
            .entry(Self::slot_name(counter, limit, taken_at))
            .or_default();
        *hits = hits.saturating_sub(1);
        Ok(())
    }
}

impl GetCart for FakeStore {
    async fn cart_lines(&self, _user: UserId) -> Result<Vec<CartLine>, StoreError> {
        Ok(self.cart.clone())
    }
}

impl GetProducts for FakeStore {
    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError> {
        let wanted = |p: &&Product| ids.contains(&p.id);
        Ok(self.products.iter().filter(wanted).cloned().collect())
    }
}

impl PlaceOrder for FakeStore {
    async fn place_order(
        &self,
        order: &Order,
        request: &IdempotentRequest,
        _cart_lines: &[ProductId],
    ) -> Result<Placement, StoreError> {
        if self.fail_order_writes {
            return Err(injected());
        }
        if let Some(earlier) = self.stored_at(order.id) {
            return Ok(Placement::Replayed(Box::new(earlier)));
        }
        self.orders.lock().unwrap().push(EarlierOrder {
            order: order.clone(),
            fingerprint: request.fingerprint.clone(),
        });
        Ok(Placement::Placed)
    }
}

impl FindEarlierOrder for FakeStore {
    async fn earlier_order(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<EarlierOrder>, StoreError> {
        if self.lookup_misses {
            return Ok(None);
        }
        Ok(self.stored_at(OrderId::for_request(user, key, Timestamp::now())))
    }
}

impl GetOrder for FakeStore {
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        *self.order_reads.lock().unwrap() += 1;
        if self.fail_order_reads {
            return Err(injected());
        }
        let Some(mut stored) = self.stored_at(id).map(|earlier| earlier.order) else {
            return Ok(None);
        };
        let mut saga = self.saga.lock().unwrap();
        if let Some(&next) = saga.first() {
            stored.status = next;
            if saga.len() > 1 {
                saga.remove(0);
            }
        }
        Ok(Some(stored))
    }
}

impl FindCredentials for FakeStore {
    async fn find_credentials(&self, _email: &Email) -> Result<Option<Credentials>, StoreError> {
        if self.fail_credential_reads {
            return Err(injected());
        }
        Ok(None)
    }
}
