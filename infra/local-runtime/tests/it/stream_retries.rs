//! The offline stream mapping retries, splits and gives up exactly as template.yaml's
//! TableChangesMapping tells Lambda to: no more invocations than AWS would make (a failing batch
//! holds its shard no longer offline than in AWS), no fewer (it holds it no shorter).

use cartwheel_local::stream_retries::{deliver, Outcome, RetryPolicy, StreamTarget};
use cartwheel_template::{Template, Trigger};
use serde_json::{json, Value};
use std::{sync::Mutex, time::Duration};

/// The publisher's stream mapping, read from template.yaml.
fn publisher_policy() -> RetryPolicy {
    let template = Template::parse(cartwheel_template::EMBEDDED).unwrap();
    let functions = template.functions().unwrap();
    let publisher = functions
        .iter()
        .find(|f| f.logical_id == "PublishEventsFunction")
        .unwrap();
    match &publisher.triggers[..] {
        [Trigger::TableStream {
            max_retries,
            bisect,
            report_item_failures,
            ..
        }] => RetryPolicy {
            max_retries: *max_retries,
            bisect: *bisect,
            report_item_failures: *report_item_failures,
        },
        other => panic!("the publisher is not fed by the stream: {other:?}"),
    }
}

fn records(sequences: std::ops::Range<u32>) -> Vec<Value> {
    sequences
        .map(|n| json!({"dynamodb": {"SequenceNumber": format!("{:021}", n * 100)}}))
        .collect()
}

fn sequence(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A function that cannot take one record, however often it is given it: it reports it failed
/// (`partial`), or its invocation fails whenever the batch holds it.
struct Poisoned {
    poison: String,
    partial: bool,
    invocations: Mutex<Vec<Vec<String>>>,
    given_up: Mutex<Vec<(Vec<String>, u32)>>,
}

impl Poisoned {
    fn new(poison: &Value, partial: bool) -> Self {
        Self {
            poison: sequence(poison),
            partial,
            invocations: Mutex::default(),
            given_up: Mutex::default(),
        }
    }

    fn invocations_with_poison(&self) -> usize {
        let invocations = self.invocations.lock().unwrap();
        invocations
            .iter()
            .filter(|batch| batch.contains(&self.poison))
            .count()
    }

    fn delivered(&self) -> Vec<String> {
        let mut all: Vec<String> = self.invocations.lock().unwrap().concat();
        all.sort();
        all.dedup();
        all
    }
}

impl StreamTarget for Poisoned {
    async fn invoke(&self, records: &[Value]) -> Outcome {
        let batch: Vec<String> = records.iter().map(sequence).collect();
        let holds_poison = batch.contains(&self.poison);
        self.invocations.lock().unwrap().push(batch);
        match (holds_poison, self.partial) {
            (false, _) => Outcome::Returned(Vec::new()),
            (true, true) => Outcome::Returned(vec![Some(self.poison.clone())]),
            (true, false) => Outcome::Failed,
        }
    }

    async fn give_up(&self, records: &[Value], invocations: u32) {
        let records = records.iter().map(sequence).collect();
        self.given_up.lock().unwrap().push((records, invocations));
    }

    /// Short, but a pause: a retry loop that never ends still lets a timeout fire.
    fn pause_before(&self, _retry: u32) -> Duration {
        Duration::from_millis(1)
    }
}

#[tokio::test]
async fn a_record_reported_failed_is_retried_from_itself_until_the_retries_run_out() {
    let policy = publisher_policy();
    let max = policy.max_retries.expect("the template bounds the retries");
    assert!(policy.report_item_failures);
    let batch = records(0..10);
    let target = Poisoned::new(&batch[4], true);
    deliver(&target, policy, batch.clone()).await;

    // The first invocation and MaximumRetryAttempts retries, each from the failed record on.
    let invocations = target.invocations.lock().unwrap().clone();
    assert_eq!(invocations.len(), max as usize + 1, "{invocations:?}");
    assert_eq!(invocations[0].len(), 10);
    let from_poison: Vec<String> = batch[4..].iter().map(sequence).collect();
    assert!(invocations[1..].iter().all(|b| *b == from_poison));
    // Then the destination hears once of what was skipped, and the mapping moves on.
    let given_up = target.given_up.lock().unwrap().clone();
    assert_eq!(given_up, [(from_poison, max + 1)]);
    assert_eq!(
        target.delivered().len(),
        10,
        "every record reached the function"
    );

    let next = records(10..20);
    deliver(&target, policy, next.clone()).await;
    let invocations = target.invocations.lock().unwrap().clone();
    assert_eq!(invocations.len(), max as usize + 2, "the next batch in one");
    assert_eq!(invocations.last().unwrap().len(), 10);
}

#[tokio::test]
async fn a_failed_invocation_is_split_until_the_poison_alone_uses_up_the_retries() {
    let policy = publisher_policy();
    let max = policy.max_retries.expect("the template bounds the retries");
    assert!(policy.bisect, "TableChangesMapping bisects");
    let batch = records(0..100);
    let target = Poisoned::new(&batch[37], false);
    deliver(&target, policy, batch.clone()).await;

    // Splits consume no retry: the record alone is invoked MaximumRetryAttempts + 1 times.
    let invocations = target.invocations.lock().unwrap().clone();
    let alone = invocations
        .iter()
        .filter(|b| *b == &[sequence(&batch[37])])
        .count();
    assert_eq!(alone, max as usize + 1, "{invocations:?}");
    // Halving 100 records isolates one in at most seven splits (2^7 ≥ 100).
    let splits = target.invocations_with_poison() - alone;
    assert!(
        (1..=7).contains(&splits),
        "{splits} splits: {invocations:?}"
    );
    let given_up = target.given_up.lock().unwrap().clone();
    assert_eq!(given_up, [(vec![sequence(&batch[37])], max + 1)]);
    // Every other record was taken, once, in stream order.
    let taken: Vec<String> = invocations
        .iter()
        .filter(|b| !b.contains(&sequence(&batch[37])))
        .flatten()
        .cloned()
        .collect();
    let expected: Vec<String> = batch
        .iter()
        .map(sequence)
        .filter(|s| *s != sequence(&batch[37]))
        .collect();
    assert_eq!(taken, expected);
}

#[tokio::test]
async fn without_a_maximum_or_bisection_a_failed_batch_is_retried_whole_and_never_given_up() {
    let policy = RetryPolicy {
        max_retries: Some(2),
        bisect: false,
        report_item_failures: true,
    };
    let batch = records(0..4);
    let target = Poisoned::new(&batch[2], false);
    deliver(&target, policy, batch.clone()).await;
    let invocations = target.invocations.lock().unwrap().clone();
    assert_eq!(invocations.len(), 3);
    assert!(invocations.iter().all(|b| b.len() == 4), "{invocations:?}");
    assert_eq!(target.given_up.lock().unwrap().len(), 1);

    // No maximum: Lambda retries until the records expire, so the shard stays blocked.
    let forever = RetryPolicy {
        max_retries: None,
        ..policy
    };
    let target = Poisoned::new(&batch[2], true);
    let blocked =
        tokio::time::timeout(Duration::from_millis(300), deliver(&target, forever, batch)).await;
    assert!(blocked.is_err(), "given up without a maximum");
    assert!(target.given_up.lock().unwrap().is_empty());
}

#[tokio::test]
async fn reported_failures_are_ignored_unless_the_mapping_asks_for_them() {
    let policy = RetryPolicy {
        max_retries: Some(3),
        bisect: true,
        report_item_failures: false,
    };
    let batch = records(0..4);
    let target = Poisoned::new(&batch[1], true);
    deliver(&target, policy, batch).await;
    assert_eq!(target.invocations.lock().unwrap().len(), 1);
    assert!(target.given_up.lock().unwrap().is_empty());
}
