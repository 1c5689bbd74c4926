//! Racing and retried writes: conflicts are retried instead of failing, lost transactions try
//! again, and a retried move says it was made before, so nothing counts twice.

use super::running::stock;
use crate::support::{self, pending_order, product, TestApp};
use cartwheel_domain::{
    lifecycle::{self, Actor},
    OrderStatus, ReservationState, Timestamp, UserId,
};
use cartwheel_store::{
    AddFavourite, AuthorizePayment, GetReservation, RefundPayment, ReleaseStock, RemoveFavourite,
    ReserveOutcome, ReserveStock, SettleOrder, TransitionOrder,
};
use futures::future::join_all;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn racing_writes_retry_their_conflicts_instead_of_failing() {
    let app = TestApp::start().await;
    let (_, customer) = app.user_token(cartwheel_domain::Role::Customer).await;
    let mut products = Vec::new();
    for i in 0..12 {
        products.push(product(&app.store, &format!("FAV-{i}"), 1).await);
    }
    let adds = products.iter().map(|p| {
        let path = format!("/favourites/{}", p.id);
        let customer = customer.clone();
        let app = &app;
        async move {
            app.send(Method::PUT, &path, Some(&customer), None)
                .await
                .status()
        }
    });
    let statuses = join_all(adds).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "{statuses:?}"
    );
    let removes = products.iter().map(|p| {
        let path = format!("/favourites/{}", p.id);
        let customer = customer.clone();
        let app = &app;
        async move {
            app.send(Method::DELETE, &path, Some(&customer), None)
                .await
                .status()
        }
    });
    let statuses = join_all(removes).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "{statuses:?}"
    );

    // Releases racing reservations of one hot product: every one lands, stock exact.
    let hot = product(&app.store, "HOT", 1000).await;
    let mut held = Vec::new();
    for _ in 0..30 {
        let order = pending_order(&app.store, &[(&hot, 2)]).await;
        app.store.reserve_stock(&order).await.unwrap();
        held.push(order);
    }
    let mut fresh = Vec::new();
    for _ in 0..30 {
        fresh.push(pending_order(&app.store, &[(&hot, 1)]).await);
    }
    let releases = join_all(held.iter().map(|o| app.store.release_stock(o.id)));
    let reserves = join_all(fresh.iter().map(|o| app.store.reserve_stock(o)));
    let (released, reserved) = tokio::join!(releases, reserves);
    assert!(released.into_iter().all(|r| r.unwrap()));
    assert!(reserved
        .into_iter()
        .all(|r| r.unwrap() == ReserveOutcome::Reserved));
    assert_eq!(stock(&app.store, hot.id).await, 1000 - 30);
}

#[tokio::test]
async fn writes_that_lose_to_concurrent_transactions_try_again() {
    let store = support::fresh_store().await;
    let table = store.table_name().to_owned();
    let (user, product_id) = (UserId::generate(), product(&store, "FAV", 1).await.id);
    let losing = support::conflicts::store_losing(&table, 2).await;
    losing.add_favourite(user, product_id).await.unwrap();
    let losing = support::conflicts::store_losing(&table, 2).await;
    losing.remove_favourite(user, product_id).await.unwrap();

    let lamp = product(&store, "CONFLICT-LAMP", 5).await;
    let order = pending_order(&store, &[(&lamp, 2)]).await;
    store.reserve_stock(&order).await.unwrap();
    let losing = support::conflicts::store_losing(&table, 2).await;
    assert!(losing.release_stock(order.id).await.unwrap());
    assert_eq!(stock(&store, lamp.id).await, 5);

    let paid = pending_order(&store, &[(&lamp, 1)]).await;
    store.reserve_stock(&paid).await.unwrap();
    let losing = support::conflicts::store_losing(&table, 2).await;
    losing
        .record_authorization(&paid, Timestamp::now())
        .await
        .unwrap();
    let losing = support::conflicts::store_losing(&table, 2).await;
    assert!(losing
        .refund_payment(paid.id, Timestamp::now())
        .await
        .unwrap());
}

#[tokio::test]
async fn a_retried_move_says_it_was_made_before_so_nothing_counts_twice() {
    let store = support::fresh_store().await;
    let pen = product(&store, "PEN", 1).await;
    let order = pending_order(&store, &[(&pen, 1)]).await;
    let now = Timestamp::now();
    let cancel =
        |id| store.transition_order(id, &[OrderStatus::Pending], OrderStatus::Cancelled, now);
    assert!(cancel(order.id).await.unwrap(), "the first run moves it");
    assert!(
        !cancel(order.id).await.unwrap(),
        "a retry only finds it moved"
    );

    let short = pending_order(&store, &[(&pen, 2)]).await;
    let first = store.reserve_stock(&short).await.unwrap();
    let again = store.reserve_stock(&short).await.unwrap();
    assert_eq!(
        (first, again),
        (
            ReserveOutcome::OutOfStock {
                short_lines: 1,
                rejected_now: true
            },
            ReserveOutcome::OutOfStock {
                short_lines: 0,
                rejected_now: false
            }
        )
    );

    let failed = pending_order(&store, &[(&pen, 1)]).await;
    store.reserve_stock(&failed).await.unwrap();
    let row = lifecycle::transition(Actor::MarkPaymentFailed, OrderStatus::PaymentFailed);
    let once = store
        .settle_order(failed.id, row.from, row.to, now)
        .await
        .unwrap();
    let twice = store
        .settle_order(failed.id, row.from, row.to, now)
        .await
        .unwrap();
    assert!(once.moved && once.released);
    assert!(!twice.moved && !twice.released);
    assert_eq!(stock(&store, pen.id).await, 1);
    let reservation = store.get_reservation(failed.id).await.unwrap().unwrap();
    assert_eq!(reservation.state, ReservationState::Released);
}
