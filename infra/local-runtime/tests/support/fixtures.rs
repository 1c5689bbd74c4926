//! The `sam local invoke` fixtures in infra/events and the stored data they refer to.

use cartwheel_domain::{IdempotencyKey, NewProduct, Order, Password, Product, Timestamp, User};
use cartwheel_identity::PasswordHash;
use cartwheel_store::Store;
use cartwheel_store::{CreateProduct, CreateUser, IdempotentRequest, PlaceOrder};
use serde_json::json;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
pub const PRODUCT: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AB";
pub const CUSTOMER: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AC";
pub const ORDER: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AE";

pub fn fixture(binary: &str) -> String {
    std::fs::read_to_string(format!("{EVENTS}/{binary}.json"))
        .unwrap_or_else(|_| panic!("infra/events/{binary}.json is missing"))
}

/// Stores what the fixtures refer to: product PRODUCT, customer CUSTOMER and their order ORDER.
pub async fn store_fixture_data(store: &Store) {
    let new: NewProduct =
        serde_json::from_value(json!({"sku": "FIX-DEMO", "name": "Fixture product",
        "category": "kitchen", "price": {"amount": 999, "currency": "EUR"}, "stock": 7}))
        .unwrap();
    store
        .create_product(&Product::create(
            PRODUCT.parse().unwrap(),
            new,
            Timestamp::now(),
        ))
        .await
        .unwrap();
    let customer: User =
        serde_json::from_value(json!({"id": CUSTOMER, "email": "customer@example.com",
        "name": "Fixture Customer", "role": "customer", "createdAt": "2026-11-21T12:00:00Z"}))
        .unwrap();
    let hash = PasswordHash::create(&Password::parse("a long enough password").unwrap()).unwrap();
    store.create_user(&customer, hash.as_str()).await.unwrap();
    let order: Order = serde_json::from_value(json!({"id": ORDER, "userId": CUSTOMER, "status": "PENDING",
        "lines": [], "total": {"amount": 0, "currency": "EUR"},
        "shippingAddress": {"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"},
        "paymentToken": "tok_visa", "createdAt": "2026-11-21T12:00:00Z", "updatedAt": "2026-11-21T12:00:00Z",
        "history": [{"status": "PENDING", "at": "2026-11-21T12:00:00Z"}]}))
    .unwrap();
    let key = IdempotentRequest {
        user: customer.id,
        key: IdempotencyKey::parse("fixture-setup").unwrap(),
        fingerprint: "setup".into(),
    };
    store.place_order(&order, &key, &[]).await.unwrap();
}
