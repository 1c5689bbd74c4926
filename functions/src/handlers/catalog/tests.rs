//! The public catalog reads on a fake store: which queries are refused before the store is asked,
//! what the store is asked for, and the cache headers of the answers.

use super::{get_product, list_categories, list_products};
use crate::fake::{
    fixture_product, fixture_request, json_of, problem, problem_type, product, Event, FakeStore,
};
use lambda_http::http::StatusCode;

fn listing(pairs: &[(&str, &str)]) -> lambda_http::Request {
    Event::fixture("list-products").query(pairs).request()
}

#[tokio::test]
async fn a_listing_asks_the_store_for_the_query_normalised() {
    let store = FakeStore::default();
    let query = [
        ("category", "Books"),
        ("q", "  Red MUG "),
        ("minPrice", "0"),
    ];
    list_products(&store, listing(&query)).await.unwrap();
    let asked = store.product_query.lock().unwrap().clone().unwrap();
    assert_eq!(asked.category.unwrap().as_str(), "books");
    assert_eq!(asked.text.as_deref(), Some("red mug"));
    assert_eq!((asked.price.min, asked.price.max), (Some(0), None));
    assert_eq!(asked.limit, super::DEFAULT_PAGE_SIZE);
}

#[tokio::test]
async fn the_fixture_listing_answers_200_cacheable_for_ten_seconds() {
    let store = FakeStore::with_products(vec![fixture_product()]);
    let answer = list_products(&store, fixture_request("list-products"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["cache-control"], "public, max-age=10");
    assert_eq!(
        store.product_query.lock().unwrap().as_ref().unwrap().limit,
        5
    );
    // The fixture asks for books; the fixture product is kitchen ware.
    assert_eq!(json_of(&answer)["items"], serde_json::json!([]));
}

/// Each bad parameter is named in a 400, and the catalog is not read.
#[tokio::test]
async fn a_bad_query_parameter_is_400_naming_it_and_reads_nothing() {
    let long_cursor = "c".repeat(1025);
    let cases: [(&str, &str); 9] = [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
        ("category", "a_b"),
        ("q", "   "),
        ("minPrice", "-1"),
        ("maxPrice", "9.99"),
        ("cursor", &long_cursor),
        ("q", &"x".repeat(101)),
    ];
    for (name, value) in cases {
        let store = FakeStore::default();
        let refused = list_products(&store, listing(&[(name, value)]))
            .await
            .unwrap_err();
        let (status, body, _) = problem(&refused);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}={value}");
        assert_eq!(body["type"], problem_type("invalid-query-parameter"));
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("query parameter {name} ")),
            "{detail}"
        );
        assert_eq!(store.called("list_products"), 0, "{name}={value}");
    }
}

#[tokio::test]
async fn a_max_price_below_the_min_price_is_400() {
    let store = FakeStore::default();
    let query = [("minPrice", "500"), ("maxPrice", "499")];
    let refused = list_products(&store, listing(&query)).await.unwrap_err();
    let (_, body, _) = problem(&refused);
    assert_eq!(
        body["detail"],
        "query parameter maxPrice is invalid: must not be below minPrice"
    );
    let equal = [("minPrice", "500"), ("maxPrice", "500")];
    assert!(list_products(&store, listing(&equal)).await.is_ok());
}

#[tokio::test]
async fn an_unknown_product_is_404_naming_it() {
    let store = FakeStore::default();
    let refused = get_product(&store, fixture_request("get-product"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], problem_type("not-found"));
    assert_eq!(body["title"], "Not Found");
    assert_eq!(
        body["detail"],
        "product 01HZX3N5Q8V2K7M4R9T6W1Y0AB was not found"
    );
}

#[tokio::test]
async fn a_product_is_answered_with_its_tag_and_304_when_the_client_holds_it() {
    let store = FakeStore::with_products(vec![fixture_product()]);
    let full = get_product(&store, fixture_request("get-product"))
        .await
        .unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(json_of(&full)["sku"], "FIX-DEMO");
    let tag = full.headers()["etag"].to_str().unwrap();
    let again = Event::fixture("get-product").header("if-none-match", tag);
    let unchanged = get_product(&store, again.request()).await.unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert!(unchanged.body().is_empty());
}

#[tokio::test]
async fn a_changed_product_no_longer_matches_the_tag_the_client_holds() {
    let store = FakeStore::with_products(vec![fixture_product()]);
    let full = get_product(&store, fixture_request("get-product"))
        .await
        .unwrap();
    let tag = full.headers()["etag"].to_str().unwrap().to_owned();
    store.products.lock().unwrap()[0].version += 1;
    let again = Event::fixture("get-product").header("if-none-match", &tag);
    let answer = get_product(&store, again.request()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn categories_are_listed_with_their_counts_cacheable_for_a_minute() {
    let store = FakeStore::with_products(vec![
        fixture_product(),
        product("01HZX3N5Q8V2K7M4R9T6W1Y0B0", "B-1", "Bowl", (500, "EUR"), 1),
    ]);
    let answer = list_categories(&store, fixture_request("list-categories"))
        .await
        .unwrap();
    assert_eq!(answer.headers()["cache-control"], "public, max-age=60");
    let body = json_of(&answer);
    assert_eq!(
        body,
        serde_json::json!({"items": [{"name": "kitchen", "productCount": 2}]})
    );
}
