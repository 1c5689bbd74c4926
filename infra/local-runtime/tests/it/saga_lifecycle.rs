//! The order lifecycle on its recovery paths (issue 22): a resumed saga, a dead execution after
//! the charge, a deleted product, a cancel after the shipment, a long sweep, racing writes and
//! retried steps. Each step runs in its sandbox (its own role) against DynamoDB Local.

use crate::support;

use cartwheel_domain::UserId;
use cartwheel_domain::{
    lifecycle::{self, Actor},
    Order, OrderId, OrderStatus, ProductId, ReservationState, ShipmentState, Timestamp,
};
use cartwheel_functions::saga::StepError;
use cartwheel_store::{AddFavourite, AuthorizePayment, RefundPayment, RemoveFavourite};
use cartwheel_store::{
    FindStalledOrders, GetOrder, GetPayment, GetProduct, GetReservation, PaymentState,
    ReadOrderRecords, ReleaseStock, ReserveOutcome, ReserveStock, SettleOrder, Store,
    TransitionOrder,
};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use support::{pending_order, product, TestApp};

async fn stock(store: &Store, id: ProductId) -> i64 {
    store.get_product(id).await.unwrap().unwrap().stock.units()
}

async fn status(store: &Store, id: OrderId) -> OrderStatus {
    store.get_order(id).await.unwrap().unwrap().status
}

/// The orders the sweeper would hand back now, whatever the grace period.
async fn stalled(store: &Store) -> Vec<OrderId> {
    let later = Timestamp::from_unix_millis(Timestamp::now().unix_millis() + 5_000);
    store.stalled_orders(later, 1000).await.unwrap()
}

async fn steps(app: &TestApp, order: &Order, functions: &[&str]) {
    for function in functions {
        let done = app.step(function, order.id).await;
        assert!(done.is_ok(), "{function} on {}: {done:?}", order.id);
    }
}

const TO_CONFIRMED: [&str; 3] = [
    "ReserveStockFunction",
    "AuthorizePaymentFunction",
    "ConfirmOrderFunction",
];

#[tokio::test]
async fn a_resumed_saga_never_charges_an_order_whose_units_were_put_back() {
    let app = TestApp::start().await;
    let lamp = product(&app.store, "LAST-LAMP", 1).await;
    let first = pending_order(&app.store, &[(&lamp, 1)]).await;
    steps(&app, &first, &["ReserveStockFunction"]).await;
    // AuthorizePayment failed for a passing reason; the compensation put the unit back, then its
    // execution died before MarkPaymentFailed: the order is still RESERVED.
    steps(
        &app,
        &first,
        &["RefundPaymentFunction", "ReleaseStockFunction"],
    )
    .await;
    assert_eq!(status(&app.store, first.id).await, OrderStatus::Reserved);
    let second = pending_order(&app.store, &[(&lamp, 1)]).await;
    steps(&app, &second, &["ReserveStockFunction"]).await;
    assert_eq!(stock(&app.store, lamp.id).await, 0);

    // The sweeper's new attempt: it must not go on as if the unit were held.
    let resumed = app.step("ReserveStockFunction", first.id).await;
    assert!(
        matches!(resumed, Err(StepError::UnexpectedStatus(_))),
        "{resumed:?}"
    );
    let charged = app.step("AuthorizePaymentFunction", first.id).await;
    assert!(charged.is_err(), "an order holding nothing is not charged");
    assert!(app.store.get_payment(first.id).await.unwrap().is_none());
    steps(
        &app,
        &first,
        &["ReleaseStockFunction", "MarkPaymentFailedFunction"],
    )
    .await;
    assert_eq!(
        status(&app.store, first.id).await,
        OrderStatus::PaymentFailed
    );
    assert_eq!(stock(&app.store, lamp.id).await, 0, "the unit stays sold");
    assert_eq!(status(&app.store, second.id).await, OrderStatus::Reserved);
    assert_eq!(
        app.store.reserve_stock(&first).await.unwrap(),
        ReserveOutcome::Released
    );
}

#[tokio::test]
async fn a_charged_order_stays_in_checkout_until_its_shipment_exists() {
    let app = TestApp::start().await;
    let kettle = product(&app.store, "KETTLE", 5).await;
    let order = pending_order(&app.store, &[(&kettle, 1)]).await;
    steps(&app, &order, &TO_CONFIRMED).await;
    // Its execution died here: the sweeper must still see it.
    assert!(stalled(&app.store).await.contains(&order.id));
    let records = app.store.order_records(order.id).await.unwrap();
    assert!(OrderStatus::Confirmed.in_checkout(records.holdings()));
    // The resumed saga skips what is done and ships it; then it has left checkout.
    let all = [&TO_CONFIRMED[..], &["CreateShipmentFunction"]].concat();
    steps(&app, &order, &all).await;
    assert!(!stalled(&app.store).await.contains(&order.id));
    let payment = app.store.get_payment(order.id).await.unwrap().unwrap();
    assert_eq!(payment.state, PaymentState::Captured);
    assert_eq!(
        stock(&app.store, kettle.id).await,
        4,
        "one unit, taken once"
    );
}

#[tokio::test]
async fn a_compensation_that_died_after_the_refund_is_finished_by_the_next_attempt() {
    let app = TestApp::start().await;
    let kettle = product(&app.store, "KETTLE-2", 5).await;
    let order = pending_order(&app.store, &[(&kettle, 2)]).await;
    steps(&app, &order, &TO_CONFIRMED).await;
    // CreateShipment failed for good; the refund ran, then the execution died.
    steps(&app, &order, &["RefundPaymentFunction"]).await;
    assert_eq!(status(&app.store, order.id).await, OrderStatus::Confirmed);
    assert!(stalled(&app.store).await.contains(&order.id));
    let confirm = app.step("ConfirmOrderFunction", order.id).await;
    assert!(confirm.is_err(), "a refunded order is not confirmed again");
    let compensation = [
        "RefundPaymentFunction",
        "ReleaseStockFunction",
        "MarkPaymentFailedFunction",
    ];
    steps(&app, &order, &compensation).await;
    assert_eq!(
        status(&app.store, order.id).await,
        OrderStatus::PaymentFailed
    );
    assert_eq!(stock(&app.store, kettle.id).await, 5);
    assert!(!stalled(&app.store).await.contains(&order.id));
}

/// Found by the explorer (schedule 13286325977360369605): CreateShipment wrote its shipment and
/// its answer was lost, twice, then crashed; the saga compensated, refunded, and died in
/// ReleaseStock. The order, CONFIRMED with a live shipment and a refunded payment, had left
/// the sweeper's index with its shipment: charged back, never released, never resumed.
#[tokio::test]
async fn a_compensation_after_a_shipment_whose_answer_was_lost_is_resumed_and_voids_it() {
    let app = TestApp::start().await;
    let kettle = product(&app.store, "KETTLE-3", 5).await;
    let order = pending_order(&app.store, &[(&kettle, 1)]).await;
    let all = [&TO_CONFIRMED[..], &["CreateShipmentFunction"]].concat();
    steps(&app, &order, &all).await;
    steps(&app, &order, &["RefundPaymentFunction"]).await;
    // The execution died here (CompensationFailed).
    assert!(stalled(&app.store).await.contains(&order.id));
    let confirm = app.step("ConfirmOrderFunction", order.id).await;
    assert!(confirm.is_err(), "a refunded order is not confirmed again");
    let compensation = ["ReleaseStockFunction", "MarkPaymentFailedFunction"];
    steps(&app, &order, &compensation).await;
    let records = app.store.order_records(order.id).await.unwrap();
    assert_eq!(records.order.unwrap().status, OrderStatus::PaymentFailed);
    assert_eq!(records.shipment.unwrap().state, ShipmentState::Voided);
    assert_eq!(stock(&app.store, kettle.id).await, 5);
    assert!(!stalled(&app.store).await.contains(&order.id));
}

#[tokio::test]
async fn a_deleted_product_does_not_stop_the_rest_of_an_order_coming_back() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let (customer_id, customer) = app.user_token(cartwheel_domain::Role::Customer).await;
    let (kept, gone) = (
        product(&app.store, "KEPT", 10).await,
        product(&app.store, "GONE", 10).await,
    );
    let lines = [(&kept, 2), (&gone, 2)];
    let order = support::stored_order(
        &app.store,
        customer_id,
        &lines,
        "tok_visa",
        OrderStatus::Pending,
    )
    .await;
    steps(&app, &order, &TO_CONFIRMED).await;
    let delete = format!("/products/{}", gone.id);
    let deleted = app.send(Method::DELETE, &delete, Some(&admin), None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let cancel = format!("/orders/{}/cancel", order.id);
    for _ in 0..2 {
        let cancelled = app.send(Method::POST, &cancel, Some(&customer), None).await;
        assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(status(&app.store, order.id).await, OrderStatus::Cancelled);
    assert_eq!(
        stock(&app.store, kept.id).await,
        10,
        "the kept product's 2 are back"
    );
    let payment = app.store.get_payment(order.id).await.unwrap().unwrap();
    assert_eq!(payment.state, PaymentState::Refunded);

    // The saga's own compensation over a deleted product.
    let other = pending_order(&app.store, &[(&kept, 3)]).await;
    let gone_too = product(&app.store, "GONE-TOO", 4).await;
    let both = pending_order(&app.store, &[(&kept, 1), (&gone_too, 1)]).await;
    steps(&app, &other, &["ReserveStockFunction"]).await;
    steps(&app, &both, &["ReserveStockFunction"]).await;
    let current = app.store.get_product(gone_too.id).await.unwrap().unwrap();
    cartwheel_store::DeleteProduct::delete_product(&app.store, &current)
        .await
        .unwrap();
    steps(&app, &both, &["ReleaseStockFunction"]).await;
    assert_eq!(
        stock(&app.store, kept.id).await,
        7,
        "10 - 3 held by the other order"
    );
}

#[tokio::test]
async fn a_cancelled_order_keeps_no_live_shipment_and_only_a_shipment_ships() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let (customer_id, customer) = app.user_token(cartwheel_domain::Role::Customer).await;
    let vase = product(&app.store, "VASE", 5).await;
    let one_vase = [(&vase, 1)];
    let place = || {
        support::stored_order(
            &app.store,
            customer_id,
            &one_vase,
            "tok_visa",
            OrderStatus::Pending,
        )
    };
    let shipped_then_cancelled = place().await;
    let all = [&TO_CONFIRMED[..], &["CreateShipmentFunction"]].concat();
    steps(&app, &shipped_then_cancelled, &all).await;
    let cancel = format!("/orders/{}/cancel", shipped_then_cancelled.id);
    let cancelled = app.send(Method::POST, &cancel, Some(&customer), None).await;
    assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    let records = app
        .store
        .order_records(shipped_then_cancelled.id)
        .await
        .unwrap();
    assert_eq!(records.shipment.unwrap().state, ShipmentState::Voided);
    assert_eq!(
        records.reservation.unwrap().state,
        ReservationState::Released
    );
    assert_eq!(stock(&app.store, vase.id).await, 5);

    // Confirmed but its shipment not yet created: nothing to hand the carrier.
    let unshipped = place().await;
    steps(&app, &unshipped, &TO_CONFIRMED).await;
    let ship = format!("/orders/{}/ship", unshipped.id);
    let refused = app.send(Method::POST, &ship, Some(&admin), None).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    steps(&app, &unshipped, &["CreateShipmentFunction"]).await;
    for _ in 0..2 {
        let shipped = app.send(Method::POST, &ship, Some(&admin), None).await;
        assert_eq!(shipped.status(), StatusCode::OK);
    }
    let records = app.store.order_records(unshipped.id).await.unwrap();
    assert_eq!(
        records.reservation.unwrap().state,
        ReservationState::Committed
    );
    let cancel = format!("/orders/{}/cancel", unshipped.id);
    let late = app.send(Method::POST, &cancel, Some(&customer), None).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(
        stock(&app.store, vase.id).await,
        4,
        "a shipped unit never comes back"
    );
}

#[tokio::test]
async fn an_order_given_up_on_is_settled_and_leaves_the_sweepers_index() {
    let store = support::fresh_store().await;
    let bulb = product(&store, "BULB", 10).await;
    let order = pending_order(&store, &[(&bulb, 2)]).await;
    store.reserve_stock(&order).await.unwrap();
    assert!(stalled(&store).await.contains(&order.id));
    let row = lifecycle::transition(Actor::GiveUp, OrderStatus::PaymentFailed);
    let settled = store
        .settle_order(order.id, row.from, row.to, Timestamp::now())
        .await
        .unwrap();
    assert!(settled.moved && settled.released);
    assert!(!stalled(&store).await.contains(&order.id));
    assert_eq!(stock(&store, bulb.id).await, 10);
}

#[tokio::test]
async fn one_sweep_hands_back_every_stalled_order_past_the_first_hundred_of_each_shard() {
    let options = support::StackOptions {
        play_pipes: false,
        schedule_every: Some(std::time::Duration::from_secs(3600)),
        ..support::StackOptions::default()
    }
    .edit(
        r#"PENDING_GRACE_SECONDS: "120""#,
        r#"PENDING_GRACE_SECONDS: "0""#,
    );
    let app = TestApp::start_stack(options).await;
    let bulb = product(&app.store, "SWEPT-BULB", 1000).await;
    let one_bulb = [(&bulb, 1)];
    for _ in 0..10 {
        join_all((0..50).map(|_| pending_order(&app.store, &one_bulb))).await;
    }
    let scheduled = serde_json::from_str(&support::fixtures::fixture("sweep-pending-orders"));
    let sweeper = app.function("SweepPendingOrdersFunction");
    let report = sweeper.schedule(scheduled.unwrap()).await.unwrap().unwrap();
    assert_eq!(report.requeued, 500, "every stalled order, in one sweep");
}

#[tokio::test]
async fn a_sweep_of_an_order_whose_execution_still_runs_starts_nothing() {
    let (app, _, kettle, customer) =
        support::checkout::stack_with_product(support::StackOptions::default(), "SLOW-KETTLE", 999)
            .await;
    // The simulated processor thinks for 3 s over this token: the execution runs meanwhile.
    let order = support::checkout::place(&app, &customer, &kettle, "tok_slowApproval", "s").await;
    let sfn = aws_sdk_sfn::Client::new(&support::sdk_config().await);
    let machine = &app.stack.state_machines["CheckoutStateMachine"];
    let execution = format!(
        "{}:{order}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    );
    let running = aws_sdk_sfn::types::ExecutionStatus::Running;
    for _ in 0..300 {
        let described = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await;
        if described.is_ok_and(|d| d.status == running) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let starter = cartwheel_functions::handoff::SagaStarter::new(sfn.clone(), machine.clone());
    let input = cartwheel_functions::saga::SagaInput { order_id: order };
    let start = starter.start(&app.store, input).await.unwrap();
    assert_eq!(start, cartwheel_functions::handoff::Start::AlreadyStarted);
}

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
