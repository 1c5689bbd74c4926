//! The cart on a fake store: pricing from the catalog as it is now, what a line holds after a
//! write, and the bodies refused before anything is written.

use super::{get_cart, put_item, remove_item};
use crate::fake::{
    customer, fixture_product, fixture_request, json_of, problem, problem_type, product, Event,
    FakeStore, PRODUCT,
};
use cartwheel_domain::{CartLine, Currency, Product, Quantity, Timestamp, UserId};
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

const BOWL: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0B0";

fn bowl() -> Product {
    product(BOWL, "BOWL-1", "Bowl", (450, "EUR"), 2)
}

fn line(product: &str, units: i64) -> CartLine {
    CartLine {
        product_id: product.parse().unwrap(),
        quantity: Quantity::try_from(units).unwrap(),
        added_at: Timestamp::now(),
    }
}

/// A store with the fixture product and the bowl, and the customer's cart holding `lines`.
fn shop(lines: Vec<CartLine>) -> FakeStore {
    let store = FakeStore::with_products(vec![fixture_product(), bowl()]);
    store.carts.lock().unwrap().insert(customer(), lines);
    store
}

fn putting(quantity: Value) -> lambda_http::Request {
    let event = Event::fixture("put-cart-item").body(json!({ "quantity": quantity }));
    event.request()
}

async fn cart_body(store: &FakeStore) -> Value {
    json_of(&get_cart(store, fixture_request("get-cart")).await.unwrap())
}

#[tokio::test]
async fn a_put_line_is_stored_and_the_cart_answered_priced() {
    let store = shop(vec![]);
    let answer = put_item(&store, fixture_request("put-cart-item"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body = json_of(&answer);
    assert_eq!(body["items"][0]["productId"], PRODUCT);
    assert_eq!(
        body["items"][0]["unitPrice"],
        json!({"amount": 999, "currency": "EUR"})
    );
    assert_eq!(
        body["items"][0]["lineTotal"],
        json!({"amount": 1998, "currency": "EUR"})
    );
    assert_eq!(body["itemCount"], 2);
    assert_eq!(body["total"], json!({"amount": 1998, "currency": "EUR"}));
    assert_eq!(store.cart(customer())[0].quantity.units(), 2);
}

#[tokio::test]
async fn putting_a_line_again_sets_its_quantity_rather_than_adding_to_it() {
    let store = shop(vec![line(PRODUCT, 5)]);
    put_item(&store, putting(json!(3))).await.unwrap();
    let cart = store.cart(customer());
    assert_eq!(cart.len(), 1);
    assert_eq!(cart[0].quantity.units(), 3);
}

#[tokio::test]
async fn a_cart_total_sums_every_line_at_todays_price() {
    let store = shop(vec![line(PRODUCT, 1), line(BOWL, 2)]);
    store.products.lock().unwrap()[1].price.amount = 500.try_into().unwrap();
    let body = cart_body(&store).await;
    assert_eq!(body["total"], json!({"amount": 1999, "currency": "EUR"}));
    assert_eq!(body["itemCount"], 3);
}

#[tokio::test]
async fn a_cart_line_for_a_deleted_product_is_left_out_of_the_total() {
    let store = shop(vec![line(PRODUCT, 1), line(BOWL, 2)]);
    store.products.lock().unwrap().retain(|p| p.id != bowl().id);
    let body = cart_body(&store).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["total"]["amount"], 999);
    assert_eq!(body["itemCount"], 1);
}

#[tokio::test]
async fn an_empty_cart_has_no_total_and_no_items() {
    let body = cart_body(&shop(vec![])).await;
    assert_eq!(body, json!({"items": [], "itemCount": 0, "total": null}));
}

#[tokio::test]
async fn lines_are_listed_by_product_name() {
    let store = shop(vec![line(PRODUCT, 1), line(BOWL, 1)]);
    let body = cart_body(&store).await;
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bowl", "Fixture product"]);
}

#[tokio::test]
async fn a_line_for_more_than_the_stock_is_shown_out_of_stock() {
    let store = shop(vec![line(BOWL, 3), line(PRODUCT, 7)]);
    let body = cart_body(&store).await;
    assert_eq!(body["items"][0]["inStock"], false, "3 bowls, 2 on hand");
    assert_eq!(body["items"][1]["inStock"], true, "7 of 7 on hand");
}

/// Quantities outside 1..=1000, or not whole numbers, are 422 naming `quantity`; the cart keeps
/// the line it had.
#[tokio::test]
async fn a_bad_quantity_is_422_and_leaves_the_cart_as_it_was() {
    for bad in [
        json!(0),
        json!(-1),
        json!(1001),
        json!(1.5),
        json!("2"),
        json!(null),
    ] {
        let store = shop(vec![line(PRODUCT, 4)]);
        let refused = put_item(&store, putting(bad.clone())).await.unwrap_err();
        let (status, body, _) = problem(&refused);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["errors"][0]["field"], "quantity", "{bad}");
        assert_eq!(store.cart(customer())[0].quantity.units(), 4, "{bad}");
        assert_eq!(store.called("put_cart_line"), 0, "{bad}");
    }
}

#[tokio::test]
async fn a_body_with_more_than_a_quantity_is_refused() {
    let store = shop(vec![]);
    let event = Event::fixture("put-cart-item").body(json!({"quantity": 1, "price": 1}));
    let refused = put_item(&store, event.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(store.cart(customer()).is_empty());
}

#[tokio::test]
async fn a_line_for_an_unknown_product_is_404_and_not_stored() {
    let store = FakeStore::default();
    let refused = put_item(&store, fixture_request("put-cart-item"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], format!("product {PRODUCT} was not found"));
    assert!(store.cart(customer()).is_empty());
}

#[tokio::test]
async fn a_product_in_another_currency_is_409_and_not_added() {
    let store = shop(vec![line(BOWL, 1)]);
    store.products.lock().unwrap()[0].price.currency = Currency::parse("USD").unwrap();
    let refused = put_item(&store, fixture_request("put-cart-item"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["type"], problem_type("conflict"));
    assert_eq!(
        body["detail"],
        format!("the cart is in EUR; product {PRODUCT} is priced in USD")
    );
    assert_eq!(store.cart(customer()).len(), 1);
}

/// Changing the quantity of the cart's only line never meets another currency.
#[tokio::test]
async fn the_only_line_may_change_quantity_whatever_its_currency() {
    let store = shop(vec![line(PRODUCT, 1)]);
    store.products.lock().unwrap()[0].price.currency = Currency::parse("USD").unwrap();
    let answer = put_item(&store, fixture_request("put-cart-item")).await;
    assert_eq!(answer.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_line_goes_into_the_callers_cart_only() {
    let other: UserId = "01HZX3N5Q8V2K7M4R9T6W1Y0C0".parse().unwrap();
    let store = shop(vec![]);
    store
        .carts
        .lock()
        .unwrap()
        .insert(other, vec![line(BOWL, 1)]);
    put_item(&store, fixture_request("put-cart-item"))
        .await
        .unwrap();
    assert_eq!(store.cart(other).len(), 1);
    assert_eq!(store.cart(other)[0].product_id, bowl().id);
    assert_eq!(store.cart(customer()).len(), 1);
}

#[tokio::test]
async fn removing_a_line_answers_the_cart_without_it() {
    let store = shop(vec![line(PRODUCT, 1), line(BOWL, 1)]);
    let answer = remove_item(&store, fixture_request("remove-cart-item"))
        .await
        .unwrap();
    let body = json_of(&answer);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["productId"], BOWL);
    assert_eq!(store.cart(customer()).len(), 1);
}

#[tokio::test]
async fn removing_a_line_that_is_not_there_still_answers_200() {
    let store = shop(vec![line(BOWL, 1)]);
    let answer = remove_item(&store, fixture_request("remove-cart-item"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(json_of(&answer)["itemCount"], 1);
}

#[tokio::test]
async fn a_cart_without_a_caller_is_401_and_reads_nothing() {
    let store = shop(vec![line(PRODUCT, 1)]);
    let request = Event::fixture("get-cart").anonymous().request();
    let refused = get_cart(&store, request).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(store.called("cart_lines"), 0);
}

#[tokio::test]
async fn a_failed_write_is_500_and_its_cause_is_not_shown() {
    let store = shop(vec![]).failing("put_cart_line", || {
        cartwheel_store::StoreError::Call("table cartwheel-prod is gone".into())
    });
    let refused = put_item(&store, fixture_request("put-cart-item"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["detail"], "internal error");
    assert!(!body.to_string().contains("cartwheel-prod"));
}
