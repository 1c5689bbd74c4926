//! The `sam local invoke` fixtures in infra/events and the stored data they refer to.

use cartwheel_domain::{
    IdempotencyKey, NewProduct, Notification, Order, Password, Product, Review, Timestamp, User,
};
use cartwheel_identity::PasswordHash;
use cartwheel_store::Store;
use cartwheel_store::{
    AuthoredReview, CreateProduct, CreateReview, CreateUser, IdempotentRequest, PlaceOrder,
    RecordNotification,
};
use serde_json::json;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
pub const PRODUCT: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AB";
pub const CUSTOMER: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AC";
pub const ORDER: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AE";
/// CUSTOMER's confirmed order of PRODUCT, which entitles them to their review REVIEW of it.
pub const CONFIRMED_ORDER: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AG";
pub const REVIEW: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AF";
/// CUSTOMER's unread notification about ORDER.
pub const NOTIFICATION: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AH";

pub fn fixture(binary: &str) -> String {
    std::fs::read_to_string(format!("{EVENTS}/{binary}.json"))
        .unwrap_or_else(|_| panic!("infra/events/{binary}.json is missing"))
}

/// Stores what the fixtures refer to: product PRODUCT, customer CUSTOMER, their pending order
/// ORDER, their confirmed order CONFIRMED_ORDER, their review REVIEW and their notification
/// NOTIFICATION.
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
    store_review(store, &customer).await;
    let notification: Notification = serde_json::from_value(json!({"id": NOTIFICATION,
        "kind": "OrderPlaced", "orderId": ORDER, "title": "Your order is received", "body": "",
        "read": false, "createdAt": "2026-11-21T12:00:00Z"}))
    .unwrap();
    store
        .record_notification("fixture", "fixture-event", customer.id, &notification)
        .await
        .unwrap();
}

async fn store_review(store: &Store, customer: &User) {
    let line = json!({"productId": PRODUCT, "sku": "FIX-DEMO", "name": "Fixture product",
        "unitPrice": {"amount": 999, "currency": "EUR"}, "quantity": 1,
        "lineTotal": {"amount": 999, "currency": "EUR"}});
    let order: Order = serde_json::from_value(json!({"id": CONFIRMED_ORDER, "userId": CUSTOMER,
        "status": "CONFIRMED", "lines": [line], "total": {"amount": 999, "currency": "EUR"},
        "shippingAddress": {"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"},
        "paymentToken": "tok_visa", "createdAt": "2026-11-20T12:00:00Z", "updatedAt": "2026-11-20T12:05:00Z",
        "history": [{"status": "PENDING", "at": "2026-11-20T12:00:00Z"}]}))
    .unwrap();
    let key = IdempotentRequest {
        user: customer.id,
        key: IdempotencyKey::parse("fixture-confirmed").unwrap(),
        fingerprint: "confirmed".into(),
    };
    store.place_order(&order, &key, &[]).await.unwrap();
    let review: Review = serde_json::from_value(json!({"id": REVIEW, "productId": PRODUCT,
        "rating": 5, "title": "Fixture review", "body": "",
        "createdAt": "2026-11-21T09:00:00Z", "updatedAt": "2026-11-21T09:00:00Z"}))
    .unwrap();
    let authored = AuthoredReview {
        author_id: customer.id,
        review,
    };
    store.create_review(&authored).await.unwrap();
}
