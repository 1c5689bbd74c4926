//! The sales figures' consumer: an order's confirmation adds it to its day's figures per product
//! and currency, and a cancellation of a confirmed order, or its refund when it could not be
//! shipped (PaymentDeclined after CONFIRMED), takes it back (`OrderStatus::sale_sign`, the one
//! rule for all). The day is the event's, in UTC.
//!
//! It also counts the checkout's business metrics (`OrderStatus::checkout_fact`): each from the
//! move the table made, once, when its dedup record commits. Counted by the saga's steps, a step
//! retried after its write landed counted twice, and one that timed out after it never did.

use crate::consume::{each_event, ConsumeError, Delivered};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::{CheckoutFact, OrderId, OrderStatus, ProductId, Timestamp, Total};
use cartwheel_store::{Applied, RecordSale, SaleChange, SaleLine};
use cartwheel_telemetry::{fact, Metric};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    product_id: ProductId,
    quantity: i64,
    line_total: Total,
}

/// What one order event changes: the figures (sign 0: none) and the checkout's facts.
struct Moved {
    change: SaleChange,
    fact: Option<CheckoutFact>,
    /// The checkout's duration, when this move ended it.
    ended_after: Option<std::time::Duration>,
}

fn moved(event: &Delivered) -> Result<Option<Moved>, ConsumeError> {
    let status: OrderStatus = event.field("status")?;
    let previous: Option<OrderStatus> = event.field("previousStatus")?;
    let sign = OrderStatus::sale_sign(previous, status);
    let fact = OrderStatus::checkout_fact(previous, status);
    if sign == 0 && fact.is_none() {
        return Ok(None);
    }
    let occurred: Timestamp = event.field("occurredAt")?;
    let ended_after = if OrderStatus::ends_checkout(previous, status) {
        let order: OrderId = event.field("orderId")?;
        Some(order.checkout_duration(occurred))
    } else {
        None
    };
    let lines: Vec<Line> = if sign == 0 {
        Vec::new()
    } else {
        event.field("lines")?
    };
    let change = SaleChange {
        event_id: event.event_id()?.to_owned(),
        day: occurred.utc_day(),
        sign,
        lines: lines
            .into_iter()
            .map(|line| SaleLine {
                product_id: line.product_id,
                units: line.quantity,
                revenue: line.line_total,
            })
            .collect(),
    };
    Ok(Some(Moved {
        change,
        fact,
        ended_after,
    }))
}

fn metric(fact: CheckoutFact) -> Metric {
    match fact {
        CheckoutFact::Accepted => Metric::OrdersAccepted,
        CheckoutFact::Rejected => Metric::OrdersRejected,
        CheckoutFact::Confirmed => Metric::SagasCompleted,
        CheckoutFact::Compensated => Metric::SagasCompensated,
    }
}

async fn count(store: &impl RecordSale, event: &Delivered) -> Result<Applied, ConsumeError> {
    let Some(moved) = moved(event)? else {
        return Ok(Applied::Now);
    };
    // A move with no figure to change still commits its dedup record, so that its facts count
    // once however often the event comes.
    let applied = store.record_sale(&moved.change).await?;
    if applied == Applied::Now {
        // At once, not when the invocation ends: a later message of the batch may kill it, and
        // its redelivery finds this one applied.
        if let Some(checkout) = moved.fact {
            fact(metric(checkout), &[1.0]);
        }
        if let Some(duration) = moved.ended_after {
            fact(Metric::CheckoutDuration, &[duration.as_secs_f64() * 1000.0]);
        }
    }
    Ok(applied)
}

#[tracing::instrument(skip_all, fields(messages = batch.records.len()))]
pub async fn record_sales(store: &impl RecordSale, batch: SqsEvent) -> SqsBatchResponse {
    each_event(&batch, |event, _| async move { count(store, &event).await }).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::SqsMessage;
    use cartwheel_store::StoreError;
    use cartwheel_telemetry::{invocation, set_metric_sink, Source};
    use serde_json::{json, Value};
    use std::{
        collections::HashSet,
        sync::{Arc, Mutex, OnceLock},
    };

    /// Applies each event id once, as the dedup record does.
    #[derive(Default)]
    struct Once(Mutex<HashSet<String>>);

    impl RecordSale for Once {
        async fn record_sale(&self, change: &SaleChange) -> Result<Applied, StoreError> {
            let new = self.0.lock().unwrap().insert(change.event_id.clone());
            Ok(if new { Applied::Now } else { Applied::Already })
        }
    }

    fn documents() -> &'static Mutex<Vec<Value>> {
        static DOCUMENTS: OnceLock<Mutex<Vec<Value>>> = OnceLock::new();
        let documents = DOCUMENTS.get_or_init(Mutex::default);
        set_metric_sink(|line| {
            let doc = serde_json::from_str(&line).unwrap();
            DOCUMENTS.get().unwrap().lock().unwrap().push(doc);
        });
        documents
    }

    /// How many samples of `metric` the documents of `service` hold.
    fn samples(service: &str, metric: &str) -> usize {
        let documents = documents().lock().unwrap();
        documents
            .iter()
            .filter(|doc| doc["service"] == service)
            .map(|doc| match &doc[metric] {
                Value::Array(values) => values.len(),
                Value::Number(_) => 1,
                _ => 0,
            })
            .sum()
    }

    fn moved(id: &str, detail_type: &str, previous: &str, status: &str) -> String {
        let order = OrderId::generate();
        json!({"detail-type": detail_type, "source": "cartwheel.orders", "detail": {
            "eventId": id, "orderId": order, "status": status, "previousStatus": previous,
            "occurredAt": Timestamp::now(), "lines": [],
            "total": {"amount": 100, "currency": "EUR"}}})
        .to_string()
    }

    fn batch(bodies: &[&String]) -> SqsEvent {
        let mut batch = SqsEvent::default();
        for (i, body) in bodies.iter().enumerate() {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m{i}"));
            message.body = Some((*body).clone());
            batch.records.push(message);
        }
        batch
    }

    #[tokio::test]
    async fn each_move_counts_its_fact_once_and_at_once_however_often_it_comes() {
        documents();
        let service = "sales-facts-test";
        let source = Arc::new(Source {
            service: service.into(),
            function: "SalesAnalyticsFunction",
        });
        let store = Once::default();
        let reserved = moved("e1", "StockReserved", "PENDING", "RESERVED");
        let rejected = moved("e2", "OrderRejected", "PENDING", "REJECTED");
        let again = batch(&[&reserved, &rejected, &reserved]);
        invocation(Arc::clone(&source), false, async {
            let answer = record_sales(&store, again).await;
            assert!(answer.batch_item_failures.is_empty());
            // Before the invocation ends: one that dies now has already counted them.
            assert_eq!(samples(service, "OrdersAccepted"), 1);
            assert_eq!(samples(service, "OrdersRejected"), 1);
            assert_eq!(
                samples(service, "CheckoutDuration"),
                1,
                "a rejection ends it"
            );
        })
        .await;
        // The batch again, as after a lost answer: all applied before, nothing counts.
        let redelivered = batch(&[&rejected, &reserved]);
        invocation(source, false, record_sales(&store, redelivered)).await;
        assert_eq!(samples(service, "OrdersAccepted"), 1);
        assert_eq!(samples(service, "OrdersRejected"), 1);
        assert_eq!(samples(service, "CheckoutDuration"), 1);
    }
}
