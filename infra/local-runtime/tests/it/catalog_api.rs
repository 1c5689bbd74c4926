//! Public catalog reads over HTTP: listing, filters, pagination, single products, categories.

use crate::support;

use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;
use support::{assert_problem, TestApp};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `nextCursor` from `first_path` to the end, returning every id in order.
async fn walk(app: &TestApp, first_path: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = first_path.to_owned();
    for _ in 0..100 {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page: Value = response.json().await.unwrap();
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{first_path}&cursor={cursor}"),
            None => return seen,
        }
    }
    panic!("pagination did not end")
}

#[tokio::test]
async fn pagination_never_skips_or_repeats_an_item() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let mut created = HashSet::new();
    for i in 0..23 {
        // Equal names on purpose: the id breaks ties, so the order stays total.
        let name = format!("Widget {}", i % 5);
        let product = app
            .create_product(&admin, &format!("W-{i}"), &name, "widgets", 100 + i)
            .await;
        created.insert(product["id"].as_str().unwrap().to_owned());
    }
    app.create_product(&admin, "OTHER-1", "Gadget", "gadgets", 100)
        .await;

    let listed = walk(&app, "/products?category=widgets&limit=4").await;
    assert_eq!(listed.len(), 23, "every widget exactly once");
    assert_eq!(listed.iter().cloned().collect::<HashSet<_>>(), created);

    let everything = walk(&app, "/products?limit=7").await;
    assert_eq!(everything.len(), 24);
    assert_eq!(everything.iter().collect::<HashSet<_>>().len(), 24);

    // Filtered pages (price and text) still visit each match once.
    let cheap = walk(&app, "/products?category=widgets&maxPrice=110&limit=3").await;
    assert_eq!(cheap.len(), 11);
    let named = walk(&app, "/products?q=WIDGET%203&limit=2").await;
    assert_eq!(
        named.len(),
        4,
        "'Widget 3' is the name of i = 3, 8, 13 and 18"
    );
}

#[tokio::test]
async fn listing_is_sorted_by_name_and_filters_by_price() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    app.create_product(&admin, "B-1", "banana", "fruit", 300)
        .await;
    app.create_product(&admin, "A-1", "Apple", "fruit", 100)
        .await;
    app.create_product(&admin, "C-1", "cherry", "fruit", 200)
        .await;
    let page: Value = app
        .get("/products?category=fruit")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Apple", "banana", "cherry"]);
    assert_eq!(page["nextCursor"], Value::Null);

    let page: Value = app
        .get("/products?minPrice=150&maxPrice=250")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["sku"], "C-1");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_query_parameters_and_cursors_are_400_problems() {
    let app = TestApp::start().await;
    for (query, mentions) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("minPrice=-1", "minPrice"),
        ("maxPrice=1.5", "maxPrice"),
        ("minPrice=10&maxPrice=5", "maxPrice"),
        ("category=no%20spaces", "category"),
        ("cursor=not-base64!", "cursor"),
        ("cursor=eyJ4IjoxfQ", "cursor"),
    ] {
        assert_problem(
            app.get(&format!("/products?{query}")).await,
            StatusCode::BAD_REQUEST,
            mentions,
        )
        .await;
    }
    // A cursor from the whole-catalog listing is not valid for a category listing.
    let admin = app.admin_token().await;
    for i in 0..3 {
        app.create_product(&admin, &format!("X-{i}"), "Thing", "things", 100)
            .await;
    }
    let page: Value = app.get("/products?limit=1").await.json().await.unwrap();
    let cursor = page["nextCursor"].as_str().unwrap();
    let response = app
        .get(&format!("/products?category=things&cursor={cursor}"))
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "cursor").await;
}

#[tokio::test]
async fn a_product_is_found_by_id_and_bad_ids_are_problems() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let created = app
        .create_product(&admin, "MUG-1", "Mug", "kitchen", 1299)
        .await;
    let id = created["id"].as_str().unwrap();

    let response = app.get(&format!("/products/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let product: Value = response.json().await.unwrap();
    assert_eq!(product, created);
    assert_eq!(product["price"]["amount"], 1299);

    let missing = ulid::Ulid::new().to_string();
    assert_problem(
        app.get(&format!("/products/{missing}")).await,
        StatusCode::NOT_FOUND,
        &missing,
    )
    .await;
    assert_problem(
        app.get("/products/not-an-id").await,
        StatusCode::BAD_REQUEST,
        "productId",
    )
    .await;
}

#[tokio::test]
async fn categories_count_their_products_as_they_change() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let a = app
        .create_product(&admin, "K-1", "Kettle", "kitchen", 100)
        .await;
    app.create_product(&admin, "K-2", "Pan", "Kitchen", 100)
        .await;
    app.create_product(&admin, "G-1", "Spade", "garden", 100)
        .await;
    let categories: Value = app.get("/categories").await.json().await.unwrap();
    assert_eq!(
        categories["items"],
        serde_json::json!([{"name": "garden", "productCount": 1}, {"name": "kitchen", "productCount": 2}])
    );

    // Moving the kettle to the garden and deleting the spade moves the counts with them.
    let id = a["id"].as_str().unwrap();
    let update = serde_json::json!({"sku": "K-1", "name": "Kettle", "category": "garden",
        "price": {"amount": 100, "currency": "EUR"}, "version": 1});
    let moved = app
        .send(
            reqwest::Method::PUT,
            &format!("/products/{id}"),
            Some(&admin),
            Some(&update.to_string()),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let spade: Value = app
        .get("/products?category=garden&q=spade")
        .await
        .json()
        .await
        .unwrap();
    let spade_id = spade["items"][0]["id"].as_str().unwrap();
    let deleted = app
        .send(
            reqwest::Method::DELETE,
            &format!("/products/{spade_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let categories: Value = app.get("/categories").await.json().await.unwrap();
    assert_eq!(
        categories["items"],
        serde_json::json!([{"name": "garden", "productCount": 1}, {"name": "kitchen", "productCount": 1}])
    );
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn catalog_reads_revalidate_with_their_etag() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let created = app
        .create_product(&admin, "TAG-1", "Teapot", "kitchen", 2500)
        .await;
    let path = format!("/products/{}", created["id"].as_str().unwrap());

    for (read, max_age) in [
        (path.as_str(), 10),
        ("/products?limit=5", 10),
        ("/categories", 60),
    ] {
        let full = app.get(read).await;
        assert_eq!(full.status(), StatusCode::OK, "{read}");
        assert_eq!(
            header(&full, "cache-control"),
            format!("public, max-age={max_age}")
        );
        let tag = header(&full, "etag");
        let again = app.get_if_none_match(read, &tag).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{read}");
        assert_eq!(header(&again, "etag"), tag);
        assert!(again.bytes().await.unwrap().is_empty(), "a 304 has no body");
    }

    // A change in the table gives the product a new tag, so the old one gets the full body.
    let full = app.get(&path).await;
    let tag = header(&full, "etag");
    let stock = serde_json::json!({"delta": -7}).to_string();
    let set = app
        .send(
            reqwest::Method::PUT,
            &format!("{path}/stock"),
            Some(&admin),
            Some(&stock),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let changed = app.get_if_none_match(&path, &tag).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(header(&changed, "etag"), tag);
    let product: Value = changed.json().await.unwrap();
    assert_eq!(product["stock"], 3);
}
