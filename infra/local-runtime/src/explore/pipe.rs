//! The explorer's event pipe: the table's stream read as the publisher reads it (`events_of`),
//! each event routed by the template's SalesAnalyticsRule, and delivered to the real sales
//! consumer with the faults of a queue: a message delivered twice, batches in any order, an
//! invocation that dies after part of its batch (the whole batch comes back), failed messages
//! reported and redelivered. The metrics it emits are kept per schedule, so the invariants can
//! compare the sales figures and the business metrics with the table.

use super::rng::Rng;
use crate::{pattern, stream::StreamReader};
use aws_lambda_events::{
    dynamodb::EventRecord,
    sqs::{BatchItemFailure, SqsEvent},
};
use cartwheel_domain::{OrderId, OrderStatus};
use cartwheel_events::{events_of, DomainEvent};
use cartwheel_functions::consumers::sales;
use cartwheel_http::ErrorChain;
use cartwheel_store::Store;
use cartwheel_telemetry::{invocation, Source};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

/// One status move of an order, as its stream record announced it.
type Move = (Option<OrderStatus>, OrderStatus);

/// Deliveries before a schedule's sales queue must be empty: far more than its faults need.
const MAX_BATCHES: usize = 500;
/// How long the stream may lag behind a settled schedule.
const CATCH_UP: Duration = Duration::from_secs(20);

/// Why the pipe could not carry a schedule's events to the sales consumer: a report line of the
/// schedule (it is broken), not a failure of the explorer.
#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    #[error(transparent)]
    Pattern(#[from] pattern::UnsupportedPattern),
    #[error("the stream never announced the final status of {0:?}")]
    Behind(Vec<OrderId>),
    #[error("the consumer reported an unknown message {0:?}")]
    UnknownMessage(BatchItemFailure),
    #[error("the sales queue still held {0} messages after {MAX_BATCHES} batches")]
    Undelivered(usize),
}

#[derive(Default)]
struct Seen {
    moves: HashMap<OrderId, Vec<Move>>,
    /// The sales queue's messages (EventBridge events, as the rule's target receives them).
    routed: HashMap<OrderId, Vec<String>>,
}

pub struct Pipe {
    rule: Value,
    seen: Mutex<Seen>,
}

/// The values each schedule's consumer emitted, per metric name, keyed by the EMF `service`.
type Emitted = Mutex<HashMap<String, HashMap<String, Vec<f64>>>>;

fn emitted() -> &'static Emitted {
    static EMITTED: OnceLock<Emitted> = OnceLock::new();
    EMITTED.get_or_init(Emitted::default)
}

fn keep(document: String) {
    let Ok(doc) = serde_json::from_str::<Value>(&document) else {
        return;
    };
    let Some(service) = doc["service"].as_str() else {
        return;
    };
    let mut all = emitted().lock().expect("not poisoned");
    let kept = all.entry(service.to_owned()).or_default();
    crate::metrics::declared(&doc, |point, values| {
        kept.entry(point.name.to_owned())
            .or_default()
            .extend(values);
    });
}

fn service(seed: u64) -> String {
    format!("explore-{seed}")
}

/// What schedule `seed`'s consumer emitted, taken out of the record.
pub fn emitted_by(seed: u64) -> HashMap<String, Vec<f64>> {
    let mut all = emitted().lock().expect("not poisoned");
    all.remove(&service(seed)).unwrap_or_default()
}

/// The event as EventBridge hands it to a rule's queue target.
fn envelope(event: &DomainEvent) -> Value {
    json!({
        "version": "0", "id": ulid::Ulid::new().to_string(),
        "detail-type": event.event_type.name(), "source": event.event_type.source(),
        "account": "000000000000", "time": event.detail["occurredAt"], "region": "us-east-1",
        "resources": [], "detail": event.detail,
    })
}

impl Pipe {
    /// A pipe that routes by `rule`; the process's metrics are collected from now on.
    pub fn new(rule: Value) -> Result<Arc<Self>, PipeError> {
        pattern::check(&rule)?;
        cartwheel_telemetry::set_metric_sink(keep);
        Ok(Arc::new(Self {
            rule,
            seen: Mutex::default(),
        }))
    }

    /// Reads the stream for the rest of the process.
    pub fn follow(self: &Arc<Self>, mut reader: StreamReader) {
        let pipe = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match reader.next_batch(1000).await {
                    Ok(records) if !records.is_empty() => pipe.take(records),
                    Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    Err(error) => {
                        eprintln!("explore: the stream: {}", ErrorChain(&error));
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
    }

    fn take(&self, records: Vec<Value>) {
        let mut seen = self.seen.lock().expect("not poisoned");
        for record in records {
            // An item this code cannot read is the publisher's to dead-letter, not an event.
            let Ok(record) = serde_json::from_value::<EventRecord>(record) else {
                continue;
            };
            let Ok(events) = events_of(&record) else {
                continue;
            };
            for event in events {
                let detail = &event.detail;
                let Ok(order) = serde_json::from_value::<OrderId>(detail["orderId"].clone()) else {
                    continue;
                };
                if let Ok(status) = serde_json::from_value::<OrderStatus>(detail["status"].clone())
                {
                    let previous = serde_json::from_value(detail["previousStatus"].clone()).ok();
                    seen.moves
                        .entry(order)
                        .or_default()
                        .push((previous, status));
                }
                let body = envelope(&event);
                if pattern::matches(&self.rule, &body) {
                    seen.routed.entry(order).or_default().push(body.to_string());
                }
            }
        }
    }

    /// Waits until the stream has announced each order's stored status, then takes the orders'
    /// sales messages out of the pipe (and forgets their moves).
    pub async fn drain(&self, finals: &[(OrderId, OrderStatus)]) -> Result<Vec<String>, PipeError> {
        let deadline = tokio::time::Instant::now() + CATCH_UP;
        loop {
            let behind: Vec<OrderId> = {
                let seen = self.seen.lock().expect("not poisoned");
                finals
                    .iter()
                    .filter(|(id, status)| {
                        seen.moves.get(id).and_then(|m| m.last()).map(|m| m.1) != Some(*status)
                    })
                    .map(|(id, _)| *id)
                    .collect()
            };
            if behind.is_empty() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PipeError::Behind(behind));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut seen = self.seen.lock().expect("not poisoned");
        let mut routed = Vec::new();
        for (id, _) in finals {
            seen.moves.remove(id);
            routed.extend(seen.routed.remove(id).unwrap_or_default());
        }
        Ok(routed)
    }
}

/// An invocation killed once it has handled `partial`: it answers nothing, and the metrics it
/// would have written when it ended are lost with it.
async fn killed_after(source: Arc<Source>, store: &Store, partial: SqsEvent) {
    let (handled, killed) = tokio::sync::oneshot::channel();
    let dying = async move {
        let _ = sales::record_sales(store, partial).await;
        let _ = handled.send(());
        std::future::pending::<()>().await
    };
    tokio::select! {
        () = invocation(source, false, dying) => {}
        _ = killed => {}
    }
}

fn batch(bodies: &[String]) -> SqsEvent {
    let mut batch = SqsEvent::default();
    for (i, body) in bodies.iter().enumerate() {
        let mut message = aws_lambda_events::sqs::SqsMessage::default();
        message.message_id = Some(format!("m{i}"));
        message.body = Some(body.clone());
        batch.records.push(message);
    }
    batch
}

/// Delivers `messages` to the sales consumer as a standard queue would, with faults, until every
/// one has been handled; its metrics go under schedule `seed`.
pub async fn deliver(
    store: &Store,
    mut messages: Vec<String>,
    seed: u64,
    rng: &mut Rng,
    log: &mut Vec<String>,
) -> Result<(), PipeError> {
    let source = Arc::new(Source {
        service: service(seed),
        function: "SalesAnalyticsFunction",
    });
    for i in 0..messages.len() {
        if rng.chance(100) {
            messages.push(messages[i].clone());
        }
    }
    let mut queue = Vec::new();
    while !messages.is_empty() {
        queue.push(messages.remove(rng.below(messages.len() as u64) as usize));
    }
    for _ in 0..MAX_BATCHES {
        if queue.is_empty() {
            return Ok(());
        }
        let size = (rng.between(1, 10) as usize).min(queue.len());
        let taken: Vec<String> = queue.drain(..size).collect();
        if rng.chance(150) {
            let handled = rng.below(size as u64 + 1) as usize;
            killed_after(Arc::clone(&source), store, batch(&taken[..handled])).await;
            log.push(format!(
                "sales consumer died after {handled} of {size} messages"
            ));
            queue.extend(taken);
            continue;
        }
        let answer = invocation(
            Arc::clone(&source),
            false,
            sales::record_sales(store, batch(&taken)),
        )
        .await;
        for failure in answer.batch_item_failures {
            let index = failure
                .item_identifier
                .trim_start_matches('m')
                .parse::<usize>();
            match index.ok().and_then(|i| taken.get(i)) {
                Some(message) => queue.push(message.clone()),
                None => return Err(PipeError::UnknownMessage(failure)),
            }
        }
    }
    Err(PipeError::Undelivered(queue.len()))
}
