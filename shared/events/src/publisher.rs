use crate::DomainEvent;
use aws_sdk_eventbridge::{error::DisplayErrorContext, types::PutEventsRequestEntry, Client};
use std::time::Duration;

/// PutEvents takes at most this many entries per call.
const ENTRIES_PER_CALL: usize = 10;
/// Attempts per entry: PutEvents can fail some entries of a call (throttling, internal errors)
/// while it accepts the rest, so each failed entry is retried alone.
const ATTEMPTS: u32 = 4;

pub struct Publisher {
    client: Client,
    bus: String,
}

/// The events (by position in what was published) that the bus did not take after every retry.
#[derive(Debug, thiserror::Error)]
#[error("{} event(s) were not published: {last_error}", .failed.len())]
pub struct Unpublished {
    pub failed: Vec<usize>,
    pub last_error: String,
}

impl Publisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    fn entry(&self, event: &DomainEvent) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(event.event_type.source())
            .detail_type(event.event_type.name())
            .detail(event.detail.to_string())
            .build()
    }

    /// Publishes every event, retrying the entries a call rejects with backoff.
    pub async fn publish(&self, events: &[DomainEvent]) -> Result<(), Unpublished> {
        let mut failed = Vec::new();
        let mut last_error = String::new();
        let positions: Vec<usize> = (0..events.len()).collect();
        for chunk in positions.chunks(ENTRIES_PER_CALL) {
            let mut pending = chunk.to_vec();
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                let (rejected, error) = self.put(events, &pending).await;
                pending = rejected;
                if pending.is_empty() {
                    break;
                }
                last_error = error;
                tracing::warn!(rejected = pending.len(), attempt, error = %last_error, "PutEvents rejected entries");
            }
            failed.extend(pending);
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Unpublished { failed, last_error })
        }
    }

    /// One PutEvents call for `pending`; answers the positions it rejected and why.
    async fn put(&self, events: &[DomainEvent], pending: &[usize]) -> (Vec<usize>, String) {
        let entries = pending.iter().map(|&i| self.entry(&events[i])).collect();
        match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Err(error) => (pending.to_vec(), DisplayErrorContext(&error).to_string()),
            Ok(output) if output.failed_entry_count == 0 => (Vec::new(), String::new()),
            Ok(output) => {
                let results = output.entries.unwrap_or_default();
                let mut reason = String::new();
                let rejected = pending
                    .iter()
                    .enumerate()
                    .filter(|(slot, _)| {
                        let result = results.get(*slot);
                        let error = result.and_then(|r| r.error_code());
                        if let Some(code) = error {
                            reason = format!(
                                "{code}: {}",
                                result.and_then(|r| r.error_message()).unwrap_or_default()
                            );
                        }
                        // A missing result entry counts as rejected: it was not confirmed.
                        result.is_none() || error.is_some()
                    })
                    .map(|(_, &i)| i)
                    .collect();
                (rejected, reason)
            }
        }
    }
}
