//! Favourites on a fake store: idempotent adds and removes, and the list as the catalog is now.

use super::{add_favourite, list_favourites, remove_favourite};
use crate::fake::{
    customer, fixture_product, fixture_request, json_of, problem, product, Event, FakeStore,
    PRODUCT,
};
use cartwheel_domain::{ProductId, Timestamp};
use cartwheel_store::{Favourite, MAX_FAVOURITES};
use lambda_http::http::StatusCode;
use std::time::Duration;

const BOWL: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0B0";

fn shop() -> FakeStore {
    let bowl = product(BOWL, "BOWL-1", "Bowl", (450, "EUR"), 0);
    FakeStore::with_products(vec![fixture_product(), bowl])
}

fn favourite(product: &str, minutes_ago: u64) -> Favourite {
    Favourite {
        product_id: product.parse().unwrap(),
        added_at: Timestamp::now().minus(Duration::from_secs(60 * minutes_ago)),
    }
}

fn favourites_of(store: &FakeStore) -> Vec<ProductId> {
    let favourites = store.favourites.lock().unwrap();
    let theirs = favourites.get(&customer()).cloned().unwrap_or_default();
    theirs.iter().map(|f| f.product_id).collect()
}

#[tokio::test]
async fn adding_a_favourite_twice_answers_204_and_keeps_one() {
    let store = shop();
    for _ in 0..2 {
        let added = add_favourite(&store, fixture_request("add-favourite"))
            .await
            .unwrap();
        assert_eq!(added.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(favourites_of(&store), [fixture_product().id]);
}

#[tokio::test]
async fn a_favourite_of_an_unknown_product_is_404_naming_it() {
    let store = FakeStore::default();
    let refused = add_favourite(&store, fixture_request("add-favourite"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], format!("product {PRODUCT} was not found"));
    assert!(favourites_of(&store).is_empty());
}

#[tokio::test]
async fn a_favourite_past_the_limit_is_409_and_not_added() {
    let store = shop();
    let full: Vec<Favourite> = (0..MAX_FAVOURITES)
        .map(|_| Favourite {
            product_id: ProductId::generate(),
            added_at: Timestamp::now(),
        })
        .collect();
    store.favourites.lock().unwrap().insert(customer(), full);
    let refused = add_favourite(&store, fixture_request("add-favourite"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["detail"], "the limit of 500 is reached");
    assert!(!favourites_of(&store).contains(&fixture_product().id));
}

#[tokio::test]
async fn a_favourite_of_a_path_id_that_is_no_ulid_is_400() {
    let store = shop();
    let request = Event::fixture("add-favourite").path("productId", "mug");
    let refused = add_favourite(&store, request.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(store.called("add_favourite"), 0);
}

#[tokio::test]
async fn favourites_are_listed_newest_first_with_the_catalogs_details() {
    let store = shop();
    let theirs = vec![favourite(PRODUCT, 10), favourite(BOWL, 1)];
    store.favourites.lock().unwrap().insert(customer(), theirs);
    let answer = list_favourites(&store, fixture_request("list-favourites"))
        .await
        .unwrap();
    let body = json_of(&answer);
    assert_eq!(body["items"][0]["productId"], BOWL);
    assert_eq!(body["items"][0]["inStock"], false, "no bowls on hand");
    assert_eq!(body["items"][1]["name"], "Fixture product");
    assert_eq!(body["items"][1]["price"]["amount"], 999);
    assert_eq!(body["items"][1]["inStock"], true);
}

#[tokio::test]
async fn a_favourite_whose_product_was_deleted_is_left_out() {
    let store = shop();
    let theirs = vec![favourite(PRODUCT, 2), favourite(BOWL, 1)];
    store.favourites.lock().unwrap().insert(customer(), theirs);
    store
        .products
        .lock()
        .unwrap()
        .retain(|p| p.id.to_string() != BOWL);
    let answer = list_favourites(&store, fixture_request("list-favourites"))
        .await
        .unwrap();
    let items = json_of(&answer)["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["productId"], PRODUCT);
}

#[tokio::test]
async fn removing_a_favourite_answers_204_whether_or_not_it_was_one() {
    let store = shop();
    let theirs = vec![favourite(PRODUCT, 2), favourite(BOWL, 1)];
    store.favourites.lock().unwrap().insert(customer(), theirs);
    for _ in 0..2 {
        let removed = remove_favourite(&store, fixture_request("remove-favourite"))
            .await
            .unwrap();
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(favourites_of(&store), [BOWL.parse::<ProductId>().unwrap()]);
}

#[tokio::test]
async fn favourites_need_a_caller() {
    let store = shop();
    let request = Event::fixture("list-favourites").anonymous().request();
    let refused = list_favourites(&store, request).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(store.called("list_favourites"), 0);
}
