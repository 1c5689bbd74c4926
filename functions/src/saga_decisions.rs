//! Every saga step's decision for every answer its store can give, on a fake of the narrow store
//! traits: which outcome continues, which ends the checkout, which Step Functions retries. That
//! the store's conditional writes and transactions do what the fake is told they do is proven on
//! DynamoDB Local (`infra/local-runtime/tests/it`), not here.

use super::*;
use cartwheel_store::{Settled, Shipment, ShipmentState};
use std::sync::Mutex;

/// How a scripted store call fails: as the real store reports a missing item, a condition that
/// refused the write (the order moved on), or DynamoDB itself failing.
#[derive(Clone, Copy, Debug)]
enum Fail {
    NotFound,
    Moved,
    Down,
    Throttled,
}

impl Fail {
    fn error(self) -> StoreError {
        match self {
            Self::NotFound => StoreError::NotFound,
            Self::Moved => StoreError::VersionConflict,
            Self::Down => StoreError::Call("injected: the table is unavailable".into()),
            Self::Throttled => StoreError::Throttled("injected: over capacity".into()),
        }
    }
}

/// The order as the store holds it (`None`: there is none) and each write's scripted answer.
struct Steps {
    status: Option<OrderStatus>,
    /// The status from the second read on, if the order moves between two reads of one step.
    then: Option<OrderStatus>,
    reads: Mutex<usize>,
    reads_fail: bool,
    reserve: Result<ReserveOutcome, Fail>,
    /// The answer of capture, refund and release: whether this call did it.
    did: Result<bool, Fail>,
    shipment: Result<(), Fail>,
    settle: Result<(), Fail>,
    calls: Mutex<Vec<&'static str>>,
}

fn steps(status: OrderStatus) -> Steps {
    Steps {
        status: Some(status),
        then: None,
        reads: Mutex::default(),
        reads_fail: false,
        reserve: Ok(ReserveOutcome::Reserved),
        did: Ok(true),
        shipment: Ok(()),
        settle: Ok(()),
        calls: Mutex::default(),
    }
}

fn order_id() -> OrderId {
    "01HZX3N5Q8V2K7M4R9T6W1Y0CD".parse().expect("a ULID")
}

fn input() -> SagaInput {
    SagaInput {
        order_id: order_id(),
    }
}

impl Steps {
    fn called(&self, what: &'static str) {
        self.calls.lock().unwrap().push(what);
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
}

impl GetOrder for Steps {
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        if self.reads_fail {
            return Err(Fail::Down.error());
        }
        let reads = {
            let mut reads = self.reads.lock().unwrap();
            *reads += 1;
            *reads
        };
        let Some(first) = self.status else {
            return Ok(None);
        };
        let status = if reads > 1 {
            self.then.unwrap_or(first)
        } else {
            first
        };
        let order = serde_json::json!({"id": id, "userId": "01HZX3N5Q8V2K7M4R9T6W1Y0EF",
            "status": status, "lines": [], "total": {"amount": 999, "currency": "EUR"},
            "shippingAddress": {"name": "A", "line1": "B", "city": "C", "postalCode": "D",
                "country": "GB"},
            "paymentToken": "tok_visa", "createdAt": "2026-12-07T10:00:00Z",
            "updatedAt": "2026-12-07T10:00:00Z", "history": []});
        Ok(Some(serde_json::from_value(order).expect("a valid order")))
    }
}

impl ReserveStock for Steps {
    async fn reserve_stock(&self, _order: &Order) -> Result<ReserveOutcome, StoreError> {
        self.called("reserve");
        self.reserve.map_err(Fail::error)
    }
}

impl CapturePayment for Steps {
    async fn capture_payment(&self, _order: OrderId, _now: Timestamp) -> Result<bool, StoreError> {
        self.called("capture");
        self.did.map_err(Fail::error)
    }
}

impl RefundPayment for Steps {
    async fn refund_payment(&self, _order: OrderId, _now: Timestamp) -> Result<bool, StoreError> {
        self.called("refund");
        self.did.map_err(Fail::error)
    }
}

impl ReleaseStock for Steps {
    async fn release_stock(&self, _order: OrderId) -> Result<bool, StoreError> {
        self.called("release");
        self.did.map_err(Fail::error)
    }
}

impl CreateShipment for Steps {
    async fn create_shipment(
        &self,
        order: OrderId,
        now: Timestamp,
    ) -> Result<Shipment, StoreError> {
        self.called("ship");
        self.shipment.map_err(Fail::error)?;
        Ok(Shipment {
            order_id: order,
            tracking_number: "TRACK-1".into(),
            created_at: now,
            state: ShipmentState::default(),
        })
    }
}

impl SettleOrder for Steps {
    async fn settle_order(
        &self,
        _order: OrderId,
        _from: &[OrderStatus],
        _to: OrderStatus,
        _now: Timestamp,
    ) -> Result<Settled, StoreError> {
        self.called("settle");
        self.settle.map_err(Fail::error)?;
        Ok(Settled {
            moved: true,
            refunded: true,
            released: true,
            voided: false,
        })
    }
}

/// The name Step Functions sees, or "continue".
fn answer(result: StepResult) -> &'static str {
    match result {
        Ok(passed) => {
            assert_eq!(passed, input(), "a step passes its input on");
            "continue"
        }
        Err(error) => error.error_type(),
    }
}

fn run<F: std::future::Future<Output = StepResult>>(step: F) -> &'static str {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    answer(runtime.block_on(step))
}

#[test]
fn reserve_stock_continues_once_the_stock_is_held_by_this_order() {
    for outcome in [ReserveOutcome::Reserved, ReserveOutcome::AlreadyReserved] {
        let store = Steps {
            reserve: Ok(outcome),
            ..steps(OrderStatus::Pending)
        };
        assert_eq!(
            run(reserve_stock(&store, input())),
            "continue",
            "{outcome:?}"
        );
    }
}

#[test]
fn reserve_stock_ends_the_checkout_when_a_line_is_short() {
    for rejected_now in [true, false] {
        let store = Steps {
            reserve: Ok(ReserveOutcome::OutOfStock {
                short_lines: usize::from(rejected_now),
                rejected_now,
            }),
            ..steps(OrderStatus::Pending)
        };
        assert_eq!(run(reserve_stock(&store, input())), "OutOfStock");
    }
}

#[test]
fn reserve_stock_never_goes_on_to_charge_an_order_whose_units_were_put_back() {
    let released = Steps {
        reserve: Ok(ReserveOutcome::Released),
        ..steps(OrderStatus::Reserved)
    };
    assert_eq!(run(reserve_stock(&released, input())), "UnexpectedStatus");
    // Put back because its owner cancelled while the step ran: the saga ends as cancelled.
    let cancelled = Steps {
        reserve: Ok(ReserveOutcome::Released),
        then: Some(OrderStatus::Cancelled),
        ..steps(OrderStatus::Pending)
    };
    assert_eq!(run(reserve_stock(&cancelled, input())), "OrderCancelled");
}

#[test]
fn reserve_stock_does_not_touch_the_stock_of_a_cancelled_order() {
    let store = steps(OrderStatus::Cancelled);
    assert_eq!(run(reserve_stock(&store, input())), "OrderCancelled");
    assert!(store.calls().is_empty(), "{:?}", store.calls());
}

#[test]
fn reserve_stock_of_an_order_that_is_not_there_is_final() {
    let store = Steps {
        status: None,
        ..steps(OrderStatus::Pending)
    };
    assert_eq!(run(reserve_stock(&store, input())), "OrderNotFound");
    assert!(store.calls().is_empty());
}

#[test]
fn reserve_stock_maps_each_store_failure_to_its_retry_or_its_end() {
    for (fail, expected) in [
        (Fail::NotFound, "OrderNotFound"),
        (Fail::Moved, "UnexpectedStatus"),
        (Fail::Down, "StoreUnavailable"),
        (Fail::Throttled, "StoreUnavailable"),
    ] {
        let store = Steps {
            reserve: Err(fail),
            ..steps(OrderStatus::Pending)
        };
        assert_eq!(run(reserve_stock(&store, input())), expected, "{fail:?}");
    }
    let unreadable = Steps {
        reads_fail: true,
        ..steps(OrderStatus::Pending)
    };
    assert_eq!(run(reserve_stock(&unreadable, input())), "StoreUnavailable");
}

#[test]
fn a_store_failure_is_retried_and_a_refusal_is_not() {
    let retried: Vec<&str> = StepError::TYPES
        .into_iter()
        .filter(|t| !StepError::FINAL.contains(t))
        .collect();
    assert!(retried.contains(&"StoreUnavailable"));
    assert!(StepError::FINAL.contains(&"UnexpectedStatus"));
    assert!(StepError::FINAL.contains(&"OrderNotFound"));
}

#[test]
fn confirm_order_continues_whether_this_call_or_an_earlier_one_captured() {
    for did in [true, false] {
        let store = Steps {
            did: Ok(did),
            ..steps(OrderStatus::Paid)
        };
        assert_eq!(run(confirm_order(&store, input())), "continue", "{did}");
        assert_eq!(store.calls(), ["capture"]);
    }
}

#[test]
fn confirm_order_of_an_order_cancelled_meanwhile_ends_as_cancelled() {
    let cancelled = Steps {
        did: Err(Fail::Moved),
        ..steps(OrderStatus::Cancelled)
    };
    assert_eq!(run(confirm_order(&cancelled, input())), "OrderCancelled");
    let elsewhere = Steps {
        did: Err(Fail::Moved),
        ..steps(OrderStatus::PaymentFailed)
    };
    assert_eq!(run(confirm_order(&elsewhere, input())), "UnexpectedStatus");
    let down = Steps {
        did: Err(Fail::Down),
        ..steps(OrderStatus::Paid)
    };
    assert_eq!(run(confirm_order(&down, input())), "StoreUnavailable");
}

#[test]
fn create_shipment_continues_and_a_cancel_meanwhile_ends_it_as_cancelled() {
    let store = steps(OrderStatus::Confirmed);
    assert_eq!(run(create_shipment(&store, input())), "continue");
    for (status, expected) in [
        (OrderStatus::Cancelled, "OrderCancelled"),
        (OrderStatus::Shipped, "UnexpectedStatus"),
    ] {
        let moved = Steps {
            shipment: Err(Fail::Moved),
            ..steps(status)
        };
        assert_eq!(
            run(create_shipment(&moved, input())),
            expected,
            "{status:?}"
        );
    }
    let missing = Steps {
        shipment: Err(Fail::NotFound),
        ..steps(OrderStatus::Confirmed)
    };
    assert_eq!(run(create_shipment(&missing, input())), "OrderNotFound");
}

#[test]
fn compensations_succeed_when_there_is_nothing_left_to_undo() {
    for did in [true, false] {
        let store = Steps {
            did: Ok(did),
            ..steps(OrderStatus::Paid)
        };
        assert_eq!(run(refund_payment(&store, input())), "continue");
        assert_eq!(run(release_stock(&store, input())), "continue");
        assert_eq!(store.calls(), ["refund", "release"]);
    }
}

#[test]
fn a_compensation_the_store_could_not_make_is_retried() {
    let down = Steps {
        did: Err(Fail::Down),
        ..steps(OrderStatus::Paid)
    };
    assert_eq!(run(refund_payment(&down, input())), "StoreUnavailable");
    assert_eq!(run(release_stock(&down, input())), "StoreUnavailable");
    let missing = Steps {
        did: Err(Fail::NotFound),
        ..steps(OrderStatus::Paid)
    };
    assert_eq!(run(release_stock(&missing, input())), "OrderNotFound");
}

#[test]
fn mark_payment_failed_settles_and_leaves_a_cancelled_order_cancelled() {
    let store = steps(OrderStatus::Reserved);
    assert_eq!(run(mark_payment_failed(&store, input())), "continue");
    assert_eq!(store.calls(), ["settle"]);
    let cancelled = Steps {
        settle: Err(Fail::Moved),
        ..steps(OrderStatus::Cancelled)
    };
    assert_eq!(run(mark_payment_failed(&cancelled, input())), "continue");
}

#[test]
fn mark_payment_failed_refuses_an_order_that_moved_anywhere_but_cancelled() {
    for status in [OrderStatus::Confirmed, OrderStatus::Shipped] {
        let moved = Steps {
            settle: Err(Fail::Moved),
            ..steps(status)
        };
        assert_eq!(
            run(mark_payment_failed(&moved, input())),
            "UnexpectedStatus"
        );
    }
    let down = Steps {
        settle: Err(Fail::Down),
        ..steps(OrderStatus::Reserved)
    };
    assert_eq!(run(mark_payment_failed(&down, input())), "StoreUnavailable");
}
