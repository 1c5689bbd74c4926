//! The saga's stock steps against DynamoDB Local: reservation never oversells, takes all lines or
//! none, and both it and its compensation are harmless when run twice.

mod support;

use cartwheel_domain::{Order, OrderStatus, ProductId, Timestamp};
use cartwheel_functions::App;
use cartwheel_store::{
    GetOrder, GetProduct, GetReservation, ReleaseStock, ReserveOutcome, ReserveStock, StoreError,
    TransitionOrder,
};
use futures::future::join_all;
use support::{fresh_app, pending_order, product};

async fn stock(app: &App, id: ProductId) -> i64 {
    app.store
        .get_product(id)
        .await
        .unwrap()
        .unwrap()
        .stock
        .units()
}

async fn status(app: &App, order: &Order) -> OrderStatus {
    app.store.get_order(order.id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_five_units_sell_exactly_five() {
    let (app, _) = fresh_app().await;
    let scarce = product(&app, "SCARCE", 5).await;
    let mut orders = Vec::new();
    for _ in 0..200 {
        orders.push(pending_order(&app, &[(&scarce, 1)]).await);
    }
    let outcomes = join_all(orders.iter().map(|order| app.store.reserve_stock(order))).await;
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
            .filter(|o| **o == ReserveOutcome::OutOfStock)
            .count(),
        195
    );
    assert_eq!(stock(&app, scarce.id).await, 0);
    let mut reserved = 0;
    for order in &orders {
        match status(&app, order).await {
            OrderStatus::Reserved => reserved += 1,
            OrderStatus::Rejected => {
                assert!(app.store.get_reservation(order.id).await.unwrap().is_none())
            }
            other => panic!("order {} ended {other:?}", order.id),
        }
    }
    assert_eq!(reserved, 5);
}

#[tokio::test]
async fn an_order_with_one_short_line_takes_nothing() {
    let (app, _) = fresh_app().await;
    let plenty = product(&app, "PLENTY", 10).await;
    let short = product(&app, "SHORT", 1).await;
    let order = pending_order(&app, &[(&plenty, 3), (&short, 2)]).await;
    assert_eq!(
        app.store.reserve_stock(&order).await.unwrap(),
        ReserveOutcome::OutOfStock
    );
    assert_eq!(
        (stock(&app, plenty.id).await, stock(&app, short.id).await),
        (10, 1)
    );
    assert_eq!(status(&app, &order).await, OrderStatus::Rejected);
    let history = app
        .store
        .get_order(order.id)
        .await
        .unwrap()
        .unwrap()
        .history;
    assert_eq!(
        history.iter().map(|c| c.status).collect::<Vec<_>>(),
        [OrderStatus::Pending, OrderStatus::Rejected]
    );
}

#[tokio::test]
async fn reserving_twice_takes_stock_once_and_release_restores_it_exactly_once() {
    let (app, _) = fresh_app().await;
    let a = product(&app, "A", 10).await;
    let b = product(&app, "B", 4).await;
    let order = pending_order(&app, &[(&a, 3), (&b, 4)]).await;
    for _ in 0..2 {
        assert_eq!(
            app.store.reserve_stock(&order).await.unwrap(),
            ReserveOutcome::Reserved
        );
    }
    assert_eq!((stock(&app, a.id).await, stock(&app, b.id).await), (7, 0));
    assert_eq!(status(&app, &order).await, OrderStatus::Reserved);

    // Ten concurrent runs of the compensation: exactly one puts the stock back.
    let released = join_all((0..10).map(|_| app.store.release_stock(order.id))).await;
    assert_eq!(
        released
            .into_iter()
            .map(Result::unwrap)
            .filter(|r| *r)
            .count(),
        1
    );
    assert_eq!((stock(&app, a.id).await, stock(&app, b.id).await), (10, 4));
    assert!(!app.store.release_stock(order.id).await.unwrap());
    assert_eq!((stock(&app, a.id).await, stock(&app, b.id).await), (10, 4));
    // A released reservation is not taken again by a late retry of the forward step.
    assert_eq!(
        app.store.reserve_stock(&order).await.unwrap(),
        ReserveOutcome::Reserved
    );
    assert_eq!(stock(&app, a.id).await, 10);
}

#[tokio::test]
async fn status_changes_are_conditional_and_idempotent() {
    let (app, _) = fresh_app().await;
    let a = product(&app, "A", 10).await;
    let order = pending_order(&app, &[(&a, 1)]).await;
    let now = Timestamp::now();
    let wrong = app
        .store
        .transition_order(order.id, &[OrderStatus::Reserved], OrderStatus::Paid, now)
        .await;
    assert!(
        matches!(wrong, Err(StoreError::VersionConflict)),
        "{wrong:?}"
    );
    for _ in 0..2 {
        app.store
            .transition_order(
                order.id,
                &[OrderStatus::Pending],
                OrderStatus::Cancelled,
                now,
            )
            .await
            .unwrap();
    }
    let stored = app.store.get_order(order.id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Cancelled);
    assert_eq!(
        stored.history.len(),
        2,
        "a repeated change is recorded once"
    );
    let missing = app
        .store
        .transition_order(
            cartwheel_domain::OrderId::generate(),
            &[OrderStatus::Pending],
            OrderStatus::Cancelled,
            now,
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}
