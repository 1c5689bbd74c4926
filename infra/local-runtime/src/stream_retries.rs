//! What Lambda does with a stream batch its function did not take, so a failing batch holds its
//! shard offline exactly as many invocations as it would in AWS:
//! - a reported partial failure (`ReportBatchItemFailures`) is retried from the lowest failed
//!   sequence number, and that is one retry;
//! - a failed invocation (an error, a timeout, a response naming no record of the batch) with
//!   `BisectBatchOnFunctionError` splits the batch in two and invokes each half; a split consumes
//!   no retry, so a poison record is isolated before its retries are counted;
//! - once a part has been retried `MaximumRetryAttempts` times, the on-failure destination is told
//!   of it and the records after it move on. With no maximum, Lambda retries until the records
//!   expire (24 hours for DynamoDB), which offline is forever.

use serde_json::Value;
use std::{collections::VecDeque, future::Future, time::Duration};

/// The mapping's error handling, as template.yaml sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `MaximumRetryAttempts`; `None` (-1) retries until the records expire.
    pub max_retries: Option<u32>,
    /// `BisectBatchOnFunctionError`.
    pub bisect: bool,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_item_failures: bool,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function returned; these are the `itemIdentifier`s it reported failed (`None` for an
    /// entry with none), empty when it took the whole batch.
    Returned(Vec<Option<String>>),
    /// The invocation failed: an error, a crash, a timeout.
    Failed,
}

/// What a stream mapping invokes, and whom it tells when it gives up on records.
pub trait StreamTarget {
    fn invoke(&self, records: &[Value]) -> impl Future<Output = Outcome> + Send;
    /// `records` failed `invocations` times and are skipped.
    fn give_up(&self, records: &[Value], invocations: u32) -> impl Future<Output = ()> + Send;

    /// The pause before retry number `retry` (from 1), which gives a failing dependency time to
    /// recover. Lambda documents no spacing; the mapping's settings fix the count of retries.
    fn pause_before(&self, retry: u32) -> Duration {
        Duration::from_millis(100 << retry.min(5))
    }
}

fn sequence(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap_or("")
}

/// Where the retry starts: the position of the lowest failed sequence number in `records`, or
/// `None` when the response is a complete failure (an identifier missing, empty or not in the
/// batch), which Lambda treats like a failed invocation.
fn checkpoint(records: &[Value], failed: &[Option<String>]) -> Result<Option<usize>, ()> {
    let mut lowest = None;
    for identifier in failed {
        let position = identifier
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| records.iter().position(|r| sequence(r) == id))
            .ok_or(())?;
        lowest = Some(lowest.map_or(position, |l: usize| l.min(position)));
    }
    Ok(lowest)
}

struct Part {
    records: Vec<Value>,
    retries: u32,
}

/// Hands `batch` to `target` until every record is taken or given up, in stream order: a part
/// that fails is retried (or split) before anything after it is invoked.
pub async fn deliver(target: &impl StreamTarget, policy: RetryPolicy, batch: Vec<Value>) {
    let mut pending = VecDeque::from([Part {
        records: batch,
        retries: 0,
    }]);
    while let Some(part) = pending.pop_front() {
        if part.records.is_empty() {
            continue;
        }
        let failed_from = match target.invoke(&part.records).await {
            Outcome::Returned(failed) if !policy.report_item_failures || failed.is_empty() => {
                continue
            }
            Outcome::Returned(failed) => checkpoint(&part.records, &failed),
            Outcome::Failed => Err(()),
        };
        let rest = match failed_from {
            Ok(Some(from)) => part.records[from..].to_vec(),
            Ok(None) => continue,
            Err(()) if policy.bisect && part.records.len() > 1 => {
                let mut first = part.records;
                let second = first.split_off(first.len() / 2);
                for records in [second, first] {
                    pending.push_front(Part {
                        records,
                        retries: part.retries,
                    });
                }
                continue;
            }
            Err(()) => part.records,
        };
        if policy.max_retries.is_some_and(|max| part.retries >= max) {
            target.give_up(&rest, part.retries + 1).await;
            continue;
        }
        tokio::time::sleep(target.pause_before(part.retries + 1)).await;
        pending.push_front(Part {
            records: rest,
            retries: part.retries + 1,
        });
    }
}
