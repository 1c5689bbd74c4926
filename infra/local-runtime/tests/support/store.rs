//! State written straight to the table: a store on a fresh table, products and orders arranged
//! without going through the API.

use super::{aws::sdk_config_for, templates::template};
use cartwheel_domain::{
    IdempotencyKey, NewProduct, Order, OrderLine, OrderStatus, PaymentToken, Product, ProductId,
    Quantity, ShippingAddress, Timestamp, UserId,
};
use cartwheel_functions::{deps::Dependencies, Env};
use cartwheel_local::provision;
use cartwheel_store::{CreateProduct, IdempotentRequest, PlaceOrder, Store};
use serde_json::json;

pub(super) fn fresh_name() -> String {
    format!("test-{}", ulid::Ulid::new()).to_lowercase()
}

/// A store on a brand-new table, for tests of the store itself.
pub async fn fresh_store() -> Store {
    let table = fresh_name();
    let sdk = sdk_config_for(&table).await;
    provision::create_table(
        &aws_sdk_dynamodb::Client::new(&sdk),
        &table,
        &template().table().unwrap(),
    )
    .await
    .expect("the table is created");
    store_for(&sdk, &table).await
}

pub(super) async fn store_for(sdk: &aws_config::SdkConfig, table: &str) -> Store {
    let env = Env::from_pairs([("TABLE_NAME".to_owned(), table.to_owned())]);
    Store::build(&env, sdk)
        .await
        .expect("a table name is all a store needs")
}

/// A product with `stock` units, written straight to the store.
pub async fn product(store: &Store, sku: &str, stock: i64) -> Product {
    let new: NewProduct =
        serde_json::from_value(json!({"sku": sku, "name": sku, "category": "misc",
        "price": {"amount": 500, "currency": "EUR"}, "stock": stock}))
        .unwrap();
    let product = Product::create(ProductId::generate(), new, Timestamp::now());
    store.create_product(&product).await.unwrap();
    product
}

/// A stored PENDING order for `lines` of (product, quantity), paid with `tok_visa`.
pub async fn pending_order(store: &Store, lines: &[(&Product, i64)]) -> Order {
    pending_order_paid_with(store, lines, "tok_visa").await
}

/// A stored PENDING order for `lines` of (product, quantity), paid with `token`.
pub async fn pending_order_paid_with(
    store: &Store,
    lines: &[(&Product, i64)],
    token: &str,
) -> Order {
    stored_order(
        store,
        UserId::generate(),
        lines,
        token,
        OrderStatus::Pending,
    )
    .await
}

/// A stored order of `user` for `lines`, paid with `token`, put straight into `status` (its
/// history says only PENDING): for tests that need an order's outcome, not its saga.
pub async fn stored_order(
    store: &Store,
    user: UserId,
    lines: &[(&Product, i64)],
    token: &str,
    status: OrderStatus,
) -> Order {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(p, q)| OrderLine::priced(p, Quantity::try_from(*q).unwrap()))
        .collect();
    let total = lines
        .iter()
        .map(|l| l.line_total.clone())
        .reduce(|a, b| a.plus(&b).unwrap())
        .unwrap();
    let address: ShippingAddress = serde_json::from_value(
        json!({"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"}),
    )
    .unwrap();
    let key = IdempotencyKey::parse(&UserId::generate().to_string()).unwrap();
    let mut order = Order::place(
        user,
        &key,
        lines,
        total,
        address,
        PaymentToken::parse(token).unwrap(),
        Timestamp::now(),
    );
    order.status = status;
    let key = IdempotentRequest {
        user,
        key,
        fingerprint: "f".into(),
    };
    store.place_order(&order, &key, &[]).await.unwrap();
    order
}
