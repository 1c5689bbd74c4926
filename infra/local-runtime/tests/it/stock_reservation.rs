//! The saga's stock steps against DynamoDB Local: reservation never oversells, takes all lines or
//! none, and both it and its compensation are harmless when run twice.

use crate::support;

use cartwheel_domain::{Order, OrderStatus, ProductId, Stock, StockChange, StockDelta, Timestamp};
use cartwheel_store::Store;
use cartwheel_store::{
    ChangeStock, GetOrder, GetProduct, GetReservation, ReleaseStock, ReserveOutcome, ReserveStock,
    StoreError, TransitionOrder,
};
use futures::future::join_all;
use support::{fresh_store, pending_order, product};

async fn stock(store: &Store, id: ProductId) -> i64 {
    store.get_product(id).await.unwrap().unwrap().stock.units()
}

async fn status(store: &Store, order: &Order) -> OrderStatus {
    store.get_order(order.id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_five_units_sell_exactly_five() {
    let store = fresh_store().await;
    let scarce = product(&store, "SCARCE", 5).await;
    let mut orders = Vec::new();
    for _ in 0..200 {
        orders.push(pending_order(&store, &[(&scarce, 1)]).await);
    }
    let outcomes = join_all(orders.iter().map(|order| store.reserve_stock(order))).await;
    let outcomes: Vec<ReserveOutcome> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ReserveOutcome::Reserved)
            .count(),
        5
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, ReserveOutcome::OutOfStock { .. }))
            .count(),
        195
    );
    assert_eq!(stock(&store, scarce.id).await, 0);
    let mut reserved = 0;
    for order in &orders {
        match status(&store, order).await {
            OrderStatus::Reserved => reserved += 1,
            OrderStatus::Rejected => {
                assert!(store.get_reservation(order.id).await.unwrap().is_none())
            }
            other => panic!("order {} ended {other:?}", order.id),
        }
    }
    assert_eq!(reserved, 5);
}

#[tokio::test]
async fn an_order_with_one_short_line_takes_nothing() {
    let store = fresh_store().await;
    let plenty = product(&store, "PLENTY", 10).await;
    let short = product(&store, "SHORT", 1).await;
    let order = pending_order(&store, &[(&plenty, 3), (&short, 2)]).await;
    assert_eq!(
        store.reserve_stock(&order).await.unwrap(),
        ReserveOutcome::OutOfStock {
            short_lines: 1,
            rejected_now: true
        }
    );
    assert_eq!(
        (
            stock(&store, plenty.id).await,
            stock(&store, short.id).await
        ),
        (10, 1)
    );
    assert_eq!(status(&store, &order).await, OrderStatus::Rejected);
    let history = store.get_order(order.id).await.unwrap().unwrap().history;
    assert_eq!(
        history.iter().map(|c| c.status).collect::<Vec<_>>(),
        [OrderStatus::Pending, OrderStatus::Rejected]
    );
}

#[tokio::test]
async fn reserving_twice_takes_stock_once_and_release_restores_it_exactly_once() {
    let store = fresh_store().await;
    let a = product(&store, "A", 10).await;
    let b = product(&store, "B", 4).await;
    let order = pending_order(&store, &[(&a, 3), (&b, 4)]).await;
    assert_eq!(
        store.reserve_stock(&order).await.unwrap(),
        ReserveOutcome::Reserved
    );
    assert_eq!(
        store.reserve_stock(&order).await.unwrap(),
        ReserveOutcome::AlreadyReserved
    );
    assert_eq!(
        (stock(&store, a.id).await, stock(&store, b.id).await),
        (7, 0)
    );
    assert_eq!(status(&store, &order).await, OrderStatus::Reserved);

    // Ten concurrent runs of the compensation: exactly one puts the stock back.
    let released = join_all((0..10).map(|_| store.release_stock(order.id))).await;
    assert_eq!(
        released
            .into_iter()
            .map(Result::unwrap)
            .filter(|r| *r)
            .count(),
        1
    );
    assert_eq!(
        (stock(&store, a.id).await, stock(&store, b.id).await),
        (10, 4)
    );
    assert!(!store.release_stock(order.id).await.unwrap());
    assert_eq!(
        (stock(&store, a.id).await, stock(&store, b.id).await),
        (10, 4)
    );
    // A released reservation is not taken again by a late retry of the forward step, and the
    // step is told the units were put back: it must not go on as if they were held.
    assert_eq!(
        store.reserve_stock(&order).await.unwrap(),
        ReserveOutcome::Released
    );
    assert_eq!(stock(&store, a.id).await, 10);
}

#[tokio::test]
async fn status_changes_are_conditional_and_idempotent() {
    let store = fresh_store().await;
    let a = product(&store, "A", 10).await;
    let order = pending_order(&store, &[(&a, 1)]).await;
    let now = Timestamp::now();
    let wrong = store
        .transition_order(order.id, &[OrderStatus::Reserved], OrderStatus::Paid, now)
        .await;
    assert!(
        matches!(wrong, Err(StoreError::VersionConflict)),
        "{wrong:?}"
    );
    for _ in 0..2 {
        store
            .transition_order(
                order.id,
                &[OrderStatus::Pending],
                OrderStatus::Cancelled,
                now,
            )
            .await
            .unwrap();
    }
    let stored = store.get_order(order.id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Cancelled);
    assert_eq!(
        stored.history.len(),
        2,
        "a repeated change is recorded once"
    );
    let missing = store
        .transition_order(
            cartwheel_domain::OrderId::generate(),
            &[OrderStatus::Pending],
            OrderStatus::Cancelled,
            now,
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

#[tokio::test]
async fn admin_stock_changes_never_lose_a_concurrent_reservation() {
    let store = fresh_store().await;
    let lamp = product(&store, "DELTA-LAMP", 100).await;
    let mut orders = Vec::new();
    for _ in 0..50 {
        orders.push(pending_order(&store, &[(&lamp, 1)]).await);
    }
    let add_two = StockChange::Adjust(StockDelta::try_from(2).unwrap());
    let reservations = join_all(orders.iter().map(|order| store.reserve_stock(order)));
    let deltas = join_all((0..20).map(|_| store.change_stock(lamp.id, add_two, Timestamp::now())));
    let (reserved, changed) = tokio::join!(reservations, deltas);
    assert!(reserved
        .into_iter()
        .all(|r| r.unwrap() == ReserveOutcome::Reserved));
    assert!(changed.into_iter().all(|c| c.is_ok()));
    assert_eq!(stock(&store, lamp.id).await, 100 - 50 + 20 * 2);

    // A set computed from the product as it was before the reservations is refused.
    let stale = StockChange::Set {
        quantity: Stock::try_from(500).unwrap(),
        version: lamp.version,
    };
    assert!(matches!(
        store.change_stock(lamp.id, stale, Timestamp::now()).await,
        Err(StoreError::VersionConflict)
    ));
    let take_too_many = StockChange::Adjust(StockDelta::try_from(-91).unwrap());
    assert!(matches!(
        store
            .change_stock(lamp.id, take_too_many, Timestamp::now())
            .await,
        Err(StoreError::StockOutOfRange(90))
    ));
    assert_eq!(stock(&store, lamp.id).await, 90);
    let missing = store
        .change_stock(ProductId::generate(), add_two, Timestamp::now())
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}
