//! Every metric Cartwheel's functions emit, in one table: its name in the `Cartwheel` namespace,
//! its unit, whether it is high resolution, and what it means. The dashboard in template.yaml may
//! name only these (a test holds it to that), and docs/metrics.md's table is this one.

/// A CloudWatch unit, as EMF spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

macro_rules! metrics {
    ($($(#[doc = $doc:literal])* $name:ident: $unit:ident, $resolution:literal;)*) => {
        /// A metric in the `Cartwheel` namespace, with the dimension `function` (the emitting
        /// function's logical id).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Metric {
            $($(#[doc = $doc])* $name,)*
        }

        impl Metric {
            pub const ALL: &'static [Metric] = &[$(Metric::$name),*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)*
                }
            }

            pub fn unit(self) -> Unit {
                match self {
                    $(Self::$name => Unit::$unit,)*
                }
            }

            /// CloudWatch's `StorageResolution`: 1 keeps per-second points, which a burst of a
            /// minute or two needs; 60 is standard resolution.
            pub fn storage_resolution(self) -> u8 {
                match self {
                    $(Self::$name => $resolution,)*
                }
            }

            /// What the metric counts or measures.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Self::$name => concat!($($doc),*).trim_start(),)*
                }
            }
        }
    };
}

metrics! {
    /// Orders the API accepted (202), counted once per order, not per idempotent replay.
    OrdersPlaced: Count, 1;
    /// Orders whose stock the saga reserved: they go on to payment.
    OrdersAccepted: Count, 1;
    /// Orders the saga rejected because stock was short: they end REJECTED.
    OrdersRejected: Count, 1;
    /// Order lines whose stock condition failed in a reservation (DynamoDB's ConditionalCheckFailed).
    ReservationConflicts: Count, 1;
    /// Payments the processor authorized.
    PaymentsAuthorized: Count, 1;
    /// Payments the processor declined.
    PaymentsDeclined: Count, 1;
    /// Checkout sagas started from the order queue.
    SagasStarted: Count, 1;
    /// Orders the saga confirmed (paid and captured).
    SagasCompleted: Count, 1;
    /// Orders that ended PAYMENT_FAILED: their stock released, their payment refunded.
    SagasCompensated: Count, 1;
    /// From an order's placement to the commit of its first final status (CONFIRMED, REJECTED or PAYMENT_FAILED); one sample per order.
    CheckoutDuration: Milliseconds, 1;
    /// Domain events put on the bus.
    EventsPublished: Count, 1;
    /// Domain events the bus refused; their stream records are retried.
    EventsFailed: Count, 1;
    /// Stream records whose item this code cannot decode, dead-lettered to UnreadableChangesQueue instead of failing their batch.
    UnreadableRecords: Count, 1;
    /// Domain events a consumer applied (an audit record, sales figures).
    EventsConsumed: Count, 1;
    /// Domain events a consumer had applied before (a redelivery, a replay): nothing changed.
    EventsDuplicate: Count, 1;
    /// Orders the sweeper put back on the queue because their checkout stalled (a lost hand-off or a dead execution).
    OrdersRequeued: Count, 60;
    /// Invocations that were a function's first after its cold start.
    ColdStart: Count, 60;
    /// Time in the handler, per invocation.
    HandlerLatency: Milliseconds, 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_meanings_come_from_the_table() {
        assert_eq!(Metric::OrdersPlaced.name(), "OrdersPlaced");
        assert_eq!(Metric::CheckoutDuration.unit(), Unit::Milliseconds);
        assert_eq!(Metric::OrdersPlaced.storage_resolution(), 1);
        assert_eq!(Metric::ColdStart.storage_resolution(), 60);
        assert!(Metric::OrdersRejected
            .meaning()
            .starts_with("Orders the saga rejected"));
    }

    #[test]
    fn every_metric_is_listed_once() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }
}
