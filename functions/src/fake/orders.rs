//! Orders and rate-limit slots in memory.

use super::{injected, FakeStore};
use cartwheel_domain::{
    IdempotencyKey, Order, OrderId, OrderLine, OrderStatus, PaymentToken, Product, Quantity,
    RateLimit, Timestamp, UserId,
};
use cartwheel_store::{
    Counter, EarlierOrder, FindEarlierOrder, GetOrder, GiveBackSlot, IdempotentRequest, ListOrders,
    OrderPage, PlaceOrder, Placement, StoreError, TakeSlot,
};

/// An order by `user` of one unit of each of `products`, in `status`.
pub fn order_of(user: UserId, status: OrderStatus, products: &[&Product]) -> Order {
    let one = Quantity::try_from(1).expect("a quantity");
    let lines: Vec<OrderLine> = products.iter().map(|p| OrderLine::priced(p, one)).collect();
    let total = lines
        .iter()
        .map(|l| l.line_total.clone())
        .reduce(|sum, line| sum.plus(&line).expect("one currency"))
        .expect("at least one line");
    let address = serde_json::from_value(serde_json::json!({"name": "Ada Lovelace",
        "line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH",
        "country": "GB"}))
    .expect("an address");
    let key = IdempotencyKey::parse(&ulid::Ulid::new().to_string()).expect("a key");
    let token = PaymentToken::parse("tok_visa").expect("a token");
    let mut order = Order::place(user, &key, lines, total, address, token, Timestamp::now());
    order.status = status;
    order
}

impl FakeStore {
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

    /// Stores `order` as if it had been placed with a request of no particular fingerprint.
    pub fn add_order(&self, order: Order) {
        let fingerprint = String::new();
        let mut orders = self.orders.lock().unwrap();
        orders.push(EarlierOrder { order, fingerprint });
    }
}

impl TakeSlot for FakeStore {
    async fn take_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.call("take_slot")?;
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
        self.call("give_back_slot")?;
        let mut slots = self.slots.lock().unwrap();
        let hits = slots
            .entry(Self::slot_name(counter, limit, taken_at))
            .or_default();
        *hits = hits.saturating_sub(1);
        Ok(())
    }
}

impl PlaceOrder for FakeStore {
    async fn place_order(
        &self,
        order: &Order,
        request: &IdempotentRequest,
        _cart_lines: &[cartwheel_domain::ProductId],
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
        self.call("earlier_order")?;
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

impl ListOrders for FakeStore {
    /// The customer's orders in the order they were stored, `limit` a page; the cursor is the
    /// offset of the next page.
    async fn list_orders(
        &self,
        user: UserId,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        self.call("list_orders")?;
        let orders = self.orders.lock().unwrap();
        let theirs: Vec<Order> = orders
            .iter()
            .filter(|o| o.order.user_id == user)
            .map(|o| o.order.clone())
            .collect();
        let (items, next_cursor) = super::page(theirs, limit, cursor)?;
        Ok(OrderPage { items, next_cursor })
    }
}
