//! The order lifecycle as data: every move of an order, who makes it, from which statuses, and
//! what must hold once it is made (the units the order holds, its payment, its shipment). The
//! store conditions its writes on the `from` statuses named here, the saga's steps and the
//! starter decide from it, the fault explorer checks its `after` columns, and docs/lifecycle.md's table
//! is printed from it (`scripts/explore --table`).

use crate::OrderStatus::{self, *};
use serde::{Deserialize, Serialize};

/// What an order's reservation record says about the units it took. A step tells its own held
/// units from units that were put back, and never counts one as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationState {
    /// Taken from stock for the order, and still its own.
    Held,
    /// Put back into stock (a compensation, a cancel); never taken again under this record.
    Released,
    /// Left the warehouse with the order: never put back.
    Committed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentState {
    Authorized,
    Captured,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipmentState {
    /// A tracking number the warehouse works on. (Records written before shipments had a state
    /// were all live.)
    #[default]
    Created,
    /// The order was cancelled or failed before it left: the warehouse must not send it.
    Voided,
}

/// Who moves an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// `POST /orders`: one conditional Put per customer and Idempotency-Key.
    Place,
    ReserveStock,
    AuthorizePayment,
    ConfirmOrder,
    CreateShipment,
    /// The saga's last compensation, after RefundPayment and ReleaseStock.
    MarkPaymentFailed,
    /// `POST /orders/{id}/cancel`, by the owner.
    Cancel,
    /// `POST /orders/{id}/ship`, by an admin.
    Ship,
    /// The starter, once every attempt of an order's saga died with the order unfinished: it
    /// settles the order itself instead of leaving it for an operator.
    GiveUp,
}

/// What must hold for an order once a move is made, read from the table by the fault explorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    /// The reservation's state, or `None` when the order holds no reservation record.
    pub units: Option<ReservationState>,
    /// The payment's state, or `None` when no payment was recorded.
    pub payment: Option<PaymentState>,
    pub shipment: Option<ShipmentState>,
}

impl Holdings {
    /// Whether an order holding `actual` meets this: every state is exact, except that an undone
    /// one (released, refunded, voided) is also met by no record at all, as an order may fail
    /// before it took stock, was charged or got a shipment.
    pub fn admits(&self, actual: Holdings) -> bool {
        fn undone<T: PartialEq>(expected: Option<T>, actual: Option<T>, undone: T) -> bool {
            expected == actual || (expected == Some(undone) && actual.is_none())
        }
        undone(self.units, actual.units, ReservationState::Released)
            && undone(self.payment, actual.payment, PaymentState::Refunded)
            && undone(self.shipment, actual.shipment, ShipmentState::Voided)
    }
}

/// One row of the lifecycle.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub actor: Actor,
    pub from: &'static [OrderStatus],
    pub to: OrderStatus,
    /// When the move is allowed, beside the order's status.
    pub guard: &'static str,
    /// What holds after the move. A compensation's `None` payment means "none, or refunded":
    /// an order may fail before or after it was charged.
    pub after: Holdings,
}

const fn holds(
    units: Option<ReservationState>,
    payment: Option<PaymentState>,
    shipment: Option<ShipmentState>,
) -> Holdings {
    Holdings {
        units,
        payment,
        shipment,
    }
}

/// The statuses an order may be settled from (cancelled, or failed and compensated): everything
/// before it leaves the warehouse.
pub const UNSHIPPED: &[OrderStatus] = &[Pending, Reserved, Paid, Confirmed];

use PaymentState::{Authorized, Captured, Refunded};
use ReservationState::{Committed, Held, Released};
use ShipmentState::{Created, Voided};

pub const LIFECYCLE: &[Transition] = &[
    Transition {
        actor: Actor::Place,
        from: &[],
        to: Pending,
        guard: "the customer's key placed no order yet",
        after: holds(None, None, None),
    },
    Transition {
        actor: Actor::ReserveStock,
        from: &[Pending],
        to: Reserved,
        guard: "every line in stock; all lines taken in one transaction",
        after: holds(Some(Held), None, None),
    },
    Transition {
        actor: Actor::ReserveStock,
        from: &[Pending],
        to: Rejected,
        guard: "a line is short; nothing taken",
        after: holds(None, None, None),
    },
    Transition {
        actor: Actor::AuthorizePayment,
        from: &[Reserved],
        to: Paid,
        guard: "the processor approved; the reservation is held",
        after: holds(Some(Held), Some(Authorized), None),
    },
    Transition {
        actor: Actor::ConfirmOrder,
        from: &[Paid],
        to: Confirmed,
        guard: "the payment is authorized; captured in the same transaction",
        after: holds(Some(Held), Some(Captured), None),
    },
    Transition {
        actor: Actor::CreateShipment,
        from: &[Confirmed],
        to: Confirmed,
        guard: "no shipment yet; the order leaves checkout with it",
        after: holds(Some(Held), Some(Captured), Some(Created)),
    },
    Transition {
        actor: Actor::MarkPaymentFailed,
        from: UNSHIPPED,
        to: PaymentFailed,
        guard: "refunds, releases and voids what is left, in the same transaction",
        after: holds(Some(Released), Some(Refunded), Some(Voided)),
    },
    Transition {
        actor: Actor::Cancel,
        from: UNSHIPPED,
        to: Cancelled,
        guard: "not shipped; refunds, releases and voids the shipment in one transaction",
        after: holds(Some(Released), Some(Refunded), Some(Voided)),
    },
    Transition {
        actor: Actor::Ship,
        from: &[Confirmed],
        to: Shipped,
        guard: "its shipment exists and is live; the reservation is committed",
        after: holds(Some(Committed), Some(Captured), Some(Created)),
    },
    Transition {
        actor: Actor::GiveUp,
        from: UNSHIPPED,
        to: PaymentFailed,
        guard: "every saga attempt ended with the order unfinished; settled as a compensation",
        after: holds(Some(Released), Some(Refunded), Some(Voided)),
    },
];

/// The row of `actor` that moves an order to `to`.
pub fn transition(actor: Actor, to: OrderStatus) -> &'static Transition {
    LIFECYCLE
        .iter()
        .find(|t| t.actor == actor && t.to == to)
        .expect("every actor's moves are in LIFECYCLE")
}

impl OrderStatus {
    /// Whether a move to this status keeps the order in the sweeper's index: its checkout goes
    /// on (a CONFIRMED order has no shipment yet when it is confirmed).
    pub fn stays_in_checkout(self) -> bool {
        matches!(self, Pending | Reserved | Paid | Confirmed)
    }

    /// Whether the order's checkout is still owed something by the saga, given what it holds:
    /// the sweeper watches these orders and the starter resumes them. A CONFIRMED order is done
    /// only when it holds what a confirmed order settles with (units held, payment captured,
    /// shipment created): an execution that died after the charge is resumed and ships it, one
    /// that died mid-compensation (a refund made) is resumed and finishes the compensation.
    pub fn in_checkout(self, holdings: Holdings) -> bool {
        match self {
            Pending | Reserved | Paid => true,
            Confirmed => self.settled() != Some(holdings),
            Shipped | Rejected | PaymentFailed | Cancelled => false,
        }
    }

    /// Whether a customer waiting on the checkout has its answer: the order rests where a saga
    /// leaves it, confirmed (or shipped since), refused or cancelled. What `POST /orders` with
    /// `Prefer: wait` waits for.
    pub fn checkout_answered(self) -> bool {
        self.settled().is_some()
    }

    /// Whether nothing more will happen to the order without a person (an admin ships it).
    pub fn is_final(self) -> bool {
        matches!(self, Shipped | Rejected | PaymentFailed | Cancelled)
    }

    /// What a settled order in this status holds when no saga step is left to run. `None` for
    /// a status that is not a resting place of the checkout.
    pub fn settled(self) -> Option<Holdings> {
        let settled = match self {
            Rejected => holds(None, None, None),
            PaymentFailed | Cancelled => holds(Some(Released), Some(Refunded), Some(Voided)),
            Confirmed => holds(Some(Held), Some(Captured), Some(Created)),
            Shipped => holds(Some(Committed), Some(Captured), Some(Created)),
            Pending | Reserved | Paid => return None,
        };
        Some(settled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_reached_by_some_move() {
        for status in OrderStatus::ALL {
            assert!(LIFECYCLE.iter().any(|t| t.to == status), "{status:?}");
        }
    }

    #[test]
    fn a_waiting_client_is_answered_by_the_outcomes_and_not_by_the_steps_between() {
        let answered: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.checkout_answered())
            .collect();
        assert_eq!(
            answered,
            [Confirmed, Shipped, Rejected, PaymentFailed, Cancelled]
        );
    }

    #[test]
    fn a_shipped_order_can_be_neither_cancelled_nor_failed() {
        for actor in [Actor::Cancel, Actor::MarkPaymentFailed, Actor::GiveUp] {
            let row = LIFECYCLE.iter().find(|t| t.actor == actor).unwrap();
            assert!(!row.from.contains(&Shipped), "{actor:?}");
            assert!(row.from.contains(&Confirmed), "{actor:?}");
        }
    }

    #[test]
    fn a_confirmed_order_leaves_checkout_only_captured_and_with_its_shipment() {
        let charged = holds(Some(Held), Some(Captured), None);
        assert!(Confirmed.in_checkout(charged));
        assert!(!Confirmed.in_checkout(holds(Some(Held), Some(Captured), Some(Created))));
        assert!(Confirmed.in_checkout(holds(Some(Held), Some(Refunded), Some(Created))));
        assert!(Paid.in_checkout(charged));
        assert!(!Cancelled.in_checkout(holds(None, None, None)));
    }

    #[test]
    fn an_undone_record_may_also_be_missing() {
        let failed = PaymentFailed.settled().unwrap();
        assert!(failed.admits(holds(None, None, None)));
        assert!(failed.admits(holds(Some(Released), Some(Refunded), None)));
        assert!(!failed.admits(holds(Some(Held), None, None)));
        assert!(!failed.admits(holds(None, Some(Captured), None)));
        assert!(!failed.admits(holds(None, None, Some(Created))));
        let shipped = Shipped.settled().unwrap();
        assert!(!shipped.admits(holds(Some(Committed), Some(Captured), None)));
    }

    #[test]
    fn every_resting_status_says_what_it_holds() {
        for row in LIFECYCLE {
            if let Some(settled) = row.to.settled() {
                if row.to != Confirmed || row.actor == Actor::CreateShipment {
                    assert_eq!(settled, row.after, "{:?} -> {:?}", row.actor, row.to);
                }
            }
        }
    }
}
