//! The items the tests write: unreadable copies of real orders and products, the real ones they
//! copy, and a batch writer.

use crate::support;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use cartwheel_domain::{Order, OrderStatus, Product, UserId};
use cartwheel_store::Store;
use std::collections::HashMap;

/// `CARTWHEEL_UNREADABLE_ITEMS` (default 1,000): how many unreadable items are written.
pub(super) fn unreadable_count() -> usize {
    std::env::var("CARTWHEEL_UNREADABLE_ITEMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

pub(super) type Item = HashMap<String, AttributeValue>;

/// The item stored at `pk`/`sk`.
pub(super) async fn raw_item(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> Item {
    let got = dynamodb
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap();
    got.item.expect("the item is stored")
}

/// An order of one `product` by `customer`, stored as CONFIRMED: one `OrderConfirmed` event.
pub(super) async fn confirmed_order(store: &Store, customer: UserId, product: &Product) -> Order {
    let confirmed = OrderStatus::Confirmed;
    support::stored_order(store, customer, &[(product, 1)], "tok_visa", confirmed).await
}

/// The `n`th unreadable item: a copy of a real order in a status this version does not know, or
/// of a real product whose stock is not a number, each at keys of its own.
pub(super) fn unreadable(n: usize, order: &Item, product: &Item) -> Item {
    let mut item = if n.is_multiple_of(2) {
        let mut item = order.clone();
        item.insert("status".into(), AttributeValue::S("ON_HOLD".into()));
        item
    } else {
        let mut item = product.clone();
        item.insert("stock".into(), AttributeValue::S("plenty".into()));
        item
    };
    let sk = item["SK"].as_s().unwrap().clone();
    item.insert(
        "PK".into(),
        AttributeValue::S(format!("{sk}#unreadable-{n}")),
    );
    item
}

pub(super) async fn write_all(dynamodb: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) {
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        while !requests.is_empty() {
            let written = dynamodb
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .unwrap();
            requests = written
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
        }
    }
}
