//! One seeded schedule: a few products and orders, their sagas run concurrently with faults,
//! disruptions at random moments (cancels, ships, deleted products, stock deltas, the card
//! processor down, items this code cannot read), then the sweeper's attempts until every order
//! is settled, then the invariants.

use super::{
    check::{self, Ledger},
    pipe,
    rng::Rng,
    saga::{execute, Ended},
    Explorer,
};
use cartwheel_domain::{
    lifecycle::{self, Actor},
    IdempotencyKey, NewProduct, Order, OrderLine, OrderStatus, PaymentToken, Product, ProductId,
    Quantity, ShippingAddress, StockChange, StockDelta, Timestamp, UserId,
};
use cartwheel_http::ErrorChain;
use cartwheel_store::{
    ChangeStock, CreateProduct, DeleteProduct, GetOrder, GetProduct, IdempotentRequest, PlaceOrder,
    ProcessorSwitch, ReadOrderRecords, SettleOrder, ShipOrder,
};
use futures::future::{join_all, BoxFuture, FutureExt};
use serde_json::json;
use std::time::Duration;

/// Why a schedule's events could not be counted: a report line of the schedule (it is broken).
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    #[error("order {0}: gone")]
    Gone(cartwheel_domain::OrderId),
    #[error("order {order}: unreadable")]
    Unreadable {
        order: cartwheel_domain::OrderId,
        #[source]
        source: cartwheel_store::StoreError,
    },
    #[error(transparent)]
    Pipe(#[from] pipe::PipeError),
}

/// Executions an order gets (the starter's attempts) before it is given up and settled.
const ATTEMPTS: u32 = 3;
/// Sweeps after the first executions; each resumes every order still in checkout.
const SWEEPS: u32 = 4;

pub struct Outcome {
    pub seed: u64,
    pub broken: Vec<String>,
    pub log: Vec<String>,
}

fn tokens(rng: &mut Rng) -> &'static str {
    match rng.below(10) {
        0 => "tok_chargeDeclined",
        1 => "tok_processingError",
        _ => "tok_visa",
    }
}

async fn new_product(explorer: &Explorer, rng: &mut Rng, i: u64) -> Product {
    let sku = format!("EX-{}", ulid::Ulid::new());
    let new: NewProduct =
        serde_json::from_value(json!({"sku": sku, "name": format!("Explored {i}"),
        "category": "explored", "price": {"amount": 100 + rng.below(900), "currency": "EUR"},
        "stock": rng.between(1, 4)}))
        .expect("a valid product");
    let product = Product::create(ProductId::generate(), new, Timestamp::now());
    explorer
        .store
        .create_product(&product)
        .await
        .expect("the product is stored");
    product
}

async fn new_order(explorer: &Explorer, rng: &mut Rng, products: &[Product]) -> Order {
    let mut picked: Vec<&Product> = products.iter().collect();
    let lines = rng.between(1, picked.len().min(2) as u64) as usize;
    let mut order_lines = Vec::new();
    for _ in 0..lines {
        let p = picked.remove(rng.below(picked.len() as u64) as usize);
        let quantity = Quantity::try_from(rng.between(1, 2) as i64).expect("1 or 2 units");
        order_lines.push(OrderLine::priced(p, quantity));
    }
    let total = order_lines
        .iter()
        .map(|l| l.line_total.clone())
        .reduce(|a, b| a.plus(&b).expect("one currency"))
        .expect("at least one line");
    let address: ShippingAddress = serde_json::from_value(
        json!({"name": "E", "line1": "1 Road", "city": "C", "postalCode": "P", "country": "GB"}),
    )
    .expect("a valid address");
    let user = UserId::generate();
    let key = IdempotencyKey::parse(&ulid::Ulid::new().to_string()).expect("a valid key");
    let token = PaymentToken::parse(tokens(rng)).expect("a valid token");
    let order = Order::place(
        user,
        &key,
        order_lines,
        total,
        address,
        token,
        Timestamp::now(),
    );
    let request = IdempotentRequest {
        user,
        key,
        fingerprint: "explored".into(),
    };
    let store = &explorer.store;
    store
        .place_order(&order, &request, &[])
        .await
        .expect("the order is placed");
    order
}

/// Something that happens to the schedule's orders and products from outside the saga.
#[derive(Debug, Clone, Copy)]
enum Disruption {
    Cancel(usize),
    Ship(usize),
    Delete(usize),
    Delta(usize, i64),
    ProcessorDown,
    Unreadable,
}

fn disruptions(rng: &mut Rng, orders: usize, products: usize) -> Vec<(u64, Disruption)> {
    let mut planned = Vec::new();
    for _ in 0..rng.between(0, 4) {
        let kind = match rng.below(12) {
            0..=3 => Disruption::Cancel(rng.below(orders as u64) as usize),
            4..=6 => Disruption::Ship(rng.below(orders as u64) as usize),
            7 => Disruption::Delete(rng.below(products as u64) as usize),
            8 | 9 => {
                let size = rng.between(1, 3) as i64;
                let delta = if rng.chance(500) { size } else { -size };
                Disruption::Delta(rng.below(products as u64) as usize, delta)
            }
            10 => Disruption::ProcessorDown,
            _ => Disruption::Unreadable,
        };
        planned.push((rng.below(40), kind));
    }
    planned
}

impl Explorer {
    pub async fn run_schedule(&self, seed: u64) -> Outcome {
        let mut rng = Rng::new(seed);
        let mut log = vec![format!("schedule {seed}")];
        let first_day = Timestamp::now().utc_day();
        let mut products = Vec::new();
        for i in 0..rng.between(2, 3) {
            products.push(new_product(self, &mut rng, i).await);
        }
        let mut orders = Vec::new();
        for _ in 0..rng.between(3, 6) {
            orders.push(new_order(self, &mut rng, &products).await);
        }
        let ledger = Ledger::new(&products);
        let planned = disruptions(&mut rng, orders.len(), products.len());
        log.push(format!(
            "{} products, {} orders, disruptions {planned:?}",
            products.len(),
            orders.len()
        ));
        let rates = self.rates;
        let mut forks: Vec<Rng> = (0..orders.len()).map(|i| rng.fork(i as u64)).collect();
        let runs = orders.iter().zip(forks.iter_mut()).map(|(order, fork)| {
            async move {
                let mut lines = Vec::new();
                let ended = execute(
                    &self.machine,
                    &self.store,
                    self.breaker,
                    order.id,
                    rates,
                    fork,
                    &mut lines,
                )
                .await;
                lines.push(format!("{} attempt 1 ended {ended:?}", order.id));
                lines
            }
            .boxed()
        });
        let outside = planned.iter().map(|(delay, what)| {
            self.disrupt(*delay, *what, &orders, &products, &ledger)
                .boxed()
        });
        let mut all: Vec<BoxFuture<'_, Vec<String>>> = runs.collect();
        all.extend(outside);
        for lines in join_all(all).await {
            log.extend(lines);
        }
        self.sweep(&orders, &mut rng, &mut log).await;
        let mut broken = check::invariants(&self.store, &orders, &ledger).await;
        let mut consumer = rng.fork(0x5A1E5);
        let counted = self.count(seed, &orders, &mut consumer, &mut log).await;
        broken.extend(match counted {
            Ok(()) => {
                let emitted = pipe::emitted_by(seed);
                let mut days = vec![first_day, Timestamp::now().utc_day()];
                days.dedup();
                check::figures(&self.store, &orders, &products, &emitted, &days).await
            }
            Err(error) => vec![ErrorChain(&error).to_string()],
        });
        Outcome { seed, broken, log }
    }

    /// The event pipe's part: the orders' events, once the stream has carried them all, through
    /// the sales consumer with a queue's faults.
    async fn count(
        &self,
        seed: u64,
        orders: &[Order],
        rng: &mut Rng,
        log: &mut Vec<String>,
    ) -> Result<(), CountError> {
        let mut finals = Vec::new();
        for order in orders {
            match self.store.get_order(order.id).await {
                Ok(Some(stored)) => finals.push((stored.id, stored.status)),
                Ok(None) => return Err(CountError::Gone(order.id)),
                Err(source) => {
                    let order = order.id;
                    return Err(CountError::Unreadable { order, source });
                }
            }
        }
        let messages = self.pipe.drain(&finals).await?;
        log.push(format!("{} events for the sales consumer", messages.len()));
        Ok(pipe::deliver(&self.store, messages, seed, rng, log).await?)
    }

    /// The sweeper's part: every order still in checkout gets a new attempt, up to `ATTEMPTS`,
    /// then is given up and settled, as the starter does.
    async fn sweep(&self, orders: &[Order], rng: &mut Rng, log: &mut Vec<String>) {
        let mut attempts = vec![1; orders.len()];
        for _ in 0..SWEEPS {
            for (i, order) in orders.iter().enumerate() {
                let records = self.store.order_records(order.id).await;
                let Ok(records) = records else { continue };
                let Some(stored) = &records.order else {
                    continue;
                };
                if !stored.status.in_checkout(records.holdings()) {
                    continue;
                }
                if attempts[i] >= ATTEMPTS {
                    let row = lifecycle::transition(Actor::GiveUp, OrderStatus::PaymentFailed);
                    let settled = self
                        .store
                        .settle_order(order.id, row.from, row.to, Timestamp::now())
                        .await;
                    log.push(format!("{} given up: {settled:?}", order.id));
                    continue;
                }
                attempts[i] += 1;
                let mut fork = rng.fork(i as u64);
                let ended = execute(
                    &self.machine,
                    &self.store,
                    self.breaker,
                    order.id,
                    self.rates,
                    &mut fork,
                    log,
                )
                .await;
                log.push(format!(
                    "{} attempt {} ended {ended:?}",
                    order.id, attempts[i]
                ));
                let _: Ended = ended;
            }
        }
    }

    async fn disrupt(
        &self,
        delay_ms: u64,
        what: Disruption,
        orders: &[Order],
        products: &[Product],
        ledger: &Ledger,
    ) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let store = &self.store;
        let now = Timestamp::now();
        let done = match what {
            Disruption::Cancel(i) => {
                let row = lifecycle::transition(Actor::Cancel, OrderStatus::Cancelled);
                format!(
                    "{:?}",
                    store
                        .settle_order(orders[i].id, row.from, row.to, now)
                        .await
                )
            }
            Disruption::Ship(i) => format!("{:?}", store.ship_order(orders[i].id, now).await),
            Disruption::Delete(i) => match store.get_product(products[i].id).await {
                Ok(Some(current)) => {
                    let deleted = store.delete_product(&current).await;
                    if deleted.is_ok() {
                        ledger.deleted(current.id);
                    }
                    format!("{deleted:?}")
                }
                other => format!("not deleted: {other:?}"),
            },
            Disruption::Delta(i, delta) => {
                let change =
                    StockChange::Adjust(StockDelta::try_from(delta).expect("a small delta"));
                let changed = store.change_stock(products[i].id, change, now).await;
                if changed.is_ok() {
                    ledger.delta(products[i].id, delta);
                }
                format!("{:?}", changed.map(|p| p.stock.units()))
            }
            Disruption::ProcessorDown => {
                let down = store.set_processor_down(true).await;
                tokio::time::sleep(Duration::from_millis(30)).await;
                let up = store.set_processor_down(false).await;
                format!("{down:?} then {up:?}")
            }
            Disruption::Unreadable => format!("{:?}", self.write_unreadable().await),
        };
        vec![format!("{what:?} after {delay_ms} ms: {done}")]
    }
}
