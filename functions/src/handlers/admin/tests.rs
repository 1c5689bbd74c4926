//! Catalog management on a fake store: who may change the catalog, which bodies are refused
//! before anything is written, and what the store holds afterwards.

use super::{change_stock, create_product, delete_product, update_product};
use crate::fake::{
    fixture_product, fixture_request, json_of, problem, problem_type, product, throttled, Event,
    FakeStore, CUSTOMER,
};
use cartwheel_domain::ProductId;
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

fn fixture_id() -> ProductId {
    fixture_product().id
}

fn catalog() -> FakeStore {
    FakeStore::with_products(vec![fixture_product()])
}

fn creating(body: Value) -> lambda_http::Request {
    Event::fixture("create-product").body(body).request()
}

fn new_product() -> Value {
    json!({"sku": "mug-1", "name": "Mug", "category": "Kitchen",
        "price": {"amount": 1299, "currency": "EUR"}, "stock": 25})
}

#[tokio::test]
async fn an_admin_creates_a_product_at_version_1_with_its_location() {
    let store = FakeStore::default();
    let created = create_product(&store, fixture_request("create-product"))
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body = json_of(&created);
    assert_eq!(body["sku"], "FIX-001");
    assert_eq!(body["version"], 1);
    assert_eq!(body["averageRating"], Value::Null);
    let id: ProductId = body["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(created.headers()["location"], format!("/products/{id}"));
    assert_eq!(store.product(id).unwrap().stock.units(), 25);
}

#[tokio::test]
async fn a_new_products_sku_is_upper_cased_and_its_category_lower_cased() {
    let store = FakeStore::default();
    create_product(&store, creating(new_product()))
        .await
        .unwrap();
    let stored = store.products.lock().unwrap()[0].clone();
    assert_eq!(stored.sku.as_str(), "MUG-1");
    assert_eq!(stored.category.as_str(), "kitchen");
}

#[tokio::test]
async fn a_customer_may_not_create_a_product_and_nothing_is_stored() {
    let store = FakeStore::default();
    let request = Event::fixture("create-product")
        .caller(CUSTOMER, "customer")
        .request();
    let refused = create_product(&store, request).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["type"], problem_type("forbidden"));
    assert_eq!(body["detail"], "this needs the admin role");
    assert!(store.products.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_request_without_a_caller_is_401_before_its_body_is_read() {
    let store = FakeStore::default();
    let request = Event::fixture("create-product")
        .anonymous()
        .raw_body("not json")
        .request();
    let refused = create_product(&store, request).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], problem_type("unauthenticated"));
}

/// Each invalid field is answered 422 naming it, and nothing reaches the store.
#[tokio::test]
async fn an_invalid_product_is_422_naming_its_field_and_stores_nothing() {
    let cases = [
        (
            "price.amount",
            json!({"price": {"amount": 0, "currency": "EUR"}}),
        ),
        (
            "price.currency",
            json!({"price": {"amount": 5, "currency": "eur"}}),
        ),
        (
            "price.amount",
            json!({"price": {"amount": 12.5, "currency": "EUR"}}),
        ),
        ("sku", json!({"sku": "has space"})),
        ("stock", json!({"stock": -1})),
        ("name", json!({"name": "   "})),
    ];
    for (field, change) in cases {
        let mut body = new_product();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let store = FakeStore::default();
        let refused = create_product(&store, creating(body)).await.unwrap_err();
        let (status, body, _) = problem(&refused);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(body["type"], problem_type("validation-failed"));
        assert_eq!(body["errors"][0]["field"], field, "{body}");
        assert_eq!(store.called("create_product"), 0, "{field}");
    }
}

#[tokio::test]
async fn an_unknown_field_is_refused_by_name() {
    let mut body = new_product();
    body["colour"] = json!("red");
    let refused = create_product(&FakeStore::default(), creating(body))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"].as_str().unwrap().contains("colour"),
        "{body}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400_and_another_media_type_415() {
    let store = FakeStore::default();
    let broken = Event::fixture("create-product").raw_body("{\"sku\":");
    let refused = create_product(&store, broken.request()).await.unwrap_err();
    assert_eq!(problem(&refused).1["type"], problem_type("malformed-json"));
    let form = Event::fixture("create-product").header("content-type", "text/plain");
    let refused = create_product(&store, form.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(store.products.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_second_product_with_a_taken_sku_is_409() {
    let store = catalog();
    let taken = json!({"sku": "fix-demo", "name": "Copy", "category": "kitchen",
        "price": {"amount": 100, "currency": "EUR"}, "stock": 1});
    let refused = create_product(&store, creating(taken)).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["detail"], "a product with SKU FIX-DEMO already exists");
    assert_eq!(store.products.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_throttled_store_is_429_with_retry_after() {
    let store = FakeStore::default().failing("create_product", throttled);
    let refused = create_product(&store, fixture_request("create-product"))
        .await
        .unwrap_err();
    let (status, body, response) = problem(&refused);
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["type"], problem_type("too-many-requests"));
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn an_update_at_the_version_read_replaces_the_details_one_version_on() {
    let store = catalog();
    let updated = update_product(&store, fixture_request("update-product"))
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let stored = store.product(fixture_id()).unwrap();
    assert_eq!(stored.name.as_str(), "Renamed fixture product");
    assert_eq!(stored.price.amount.value(), 1499);
    assert_eq!(stored.version, 2);
    assert_eq!(stored.stock.units(), 7, "stock is not part of an update");
    assert_eq!(json_of(&updated)["version"], 2);
}

#[tokio::test]
async fn an_update_at_a_stale_version_is_409_and_changes_nothing() {
    let store = catalog();
    let stale = Event::fixture("update-product").body(json!({"sku": "FIX-DEMO",
        "name": "Stale", "category": "kitchen",
        "price": {"amount": 1, "currency": "EUR"}, "version": 0}));
    let refused = update_product(&store, stale.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let stored = store.product(fixture_id()).unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.version),
        ("Fixture product", 1)
    );
    assert_eq!(store.called("replace_product"), 0);
}

#[tokio::test]
async fn an_update_or_delete_of_a_missing_product_is_404_naming_it() {
    let store = FakeStore::default();
    let updated = update_product(&store, fixture_request("update-product")).await;
    let deleted = delete_product(&store, fixture_request("delete-product")).await;
    for refused in [updated.unwrap_err(), deleted.unwrap_err()] {
        let (status, body, _) = problem(&refused);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body["detail"],
            "product 01HZX3N5Q8V2K7M4R9T6W1Y0AB was not found"
        );
    }
}

#[tokio::test]
async fn a_path_id_that_is_no_ulid_is_400_naming_the_parameter() {
    let store = catalog();
    let request = Event::fixture("delete-product")
        .path("productId", "latest")
        .request();
    let refused = delete_product(&store, request).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], problem_type("invalid-path-parameter"));
    assert!(body["detail"].as_str().unwrap().contains("productId"));
    assert_eq!(store.products.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_admin_deletes_a_product_204_and_a_customer_may_not() {
    let store = catalog();
    let request = Event::fixture("delete-product").caller(CUSTOMER, "customer");
    let refused = delete_product(&store, request.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(store.product(fixture_id()).is_some());
    let deleted = delete_product(&store, fixture_request("delete-product"))
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(store.product(fixture_id()).is_none());
}

#[tokio::test]
async fn a_stock_delta_is_added_and_answered_with_the_product() {
    let store = catalog();
    let changed = change_stock(&store, fixture_request("set-stock"))
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(json_of(&changed)["stock"], 40);
    assert_eq!(store.product(fixture_id()).unwrap().stock.units(), 40);
}

#[tokio::test]
async fn a_delta_below_zero_stock_is_409_and_leaves_the_stock() {
    let store = catalog();
    let request = Event::fixture("set-stock").body(json!({"delta": -8}));
    let refused = change_stock(&store, request.request()).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["detail"].as_str().unwrap().contains("now 7"), "{body}");
    assert_eq!(store.product(fixture_id()).unwrap().stock.units(), 7);
}

#[tokio::test]
async fn a_stock_set_without_a_version_is_422_and_a_stale_one_409() {
    let store = catalog();
    let bare = Event::fixture("set-stock").body(json!({"quantity": 3}));
    let refused = change_stock(&store, bare.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(store.called("change_stock"), 0);
    let stale = Event::fixture("set-stock").body(json!({"quantity": 3, "version": 9}));
    let refused = change_stock(&store, stale.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(store.product(fixture_id()).unwrap().stock.units(), 7);
}

#[tokio::test]
async fn a_stock_change_of_a_missing_product_is_404() {
    let store = FakeStore::with_products(vec![product(
        "01HZX3N5Q8V2K7M4R9T6W1Y0B0",
        "OTHER",
        "Other",
        (100, "EUR"),
        1,
    )]);
    let refused = change_stock(&store, fixture_request("set-stock"))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}
