//! Moves a dead-letter queue's messages back to the queue they came from.
//!
//! SQS does this itself with StartMessageMoveTask, but moto 5.2.5 answers that call with HTTP 500,
//! and the offline stack should be redriven by the same code as a deployed one. So the move is
//! made of calls both implement: receive up to 10 messages, send them to the source queue with the
//! same body and message attributes, and delete from the dead-letter queue only what the source
//! accepted. A failure between the send and the delete leaves a message in both queues; the
//! consumers drop the second copy by its event id, so a copy is harmless where a loss would not be.

use aws_sdk_sqs::{
    error::DisplayErrorContext,
    types::{
        DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
        SendMessageBatchRequestEntry,
    },
    Client,
};

/// ReceiveMessage and the batch calls take at most 10 messages.
const BATCH: usize = 10;
/// How long a receive waits for a message before the dead-letter queue counts as drained.
const DRAIN_WAIT_SECONDS: i32 = 1;
/// How long a received message stays hidden: if the move stops between the receive and the delete,
/// the message is back in the dead-letter queue this soon.
const VISIBILITY_SECONDS: i32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("there is no queue {name}")]
    NoQueue {
        name: String,
        #[source]
        // Boxed: an SDK error is large, and every Result of this module carries it.
        source: Box<aws_sdk_sqs::Error>,
    },
    #[error("{dlq} is the dead-letter queue of no queue: say where to move its messages (--to)")]
    NoSource { dlq: String },
    #[error("{dlq} is the dead-letter queue of {}: say which to move its messages to (--to)", .sources.join(", "))]
    ManySources { dlq: String, sources: Vec<String> },
    #[error("{call} on {queue} failed")]
    Sqs {
        call: &'static str,
        queue: String,
        #[source]
        source: Box<aws_sdk_sqs::Error>,
    },
    #[error("{queue} refused {} message(s), left in the dead-letter queue, after {moved} were moved: {}", .refused.len(), .refused.join("; "))]
    Refused {
        queue: String,
        moved: usize,
        refused: Vec<String>,
    },
    #[error("{} message(s) sent to {queue} could not be deleted from {dlq}, so they are in both (the consumers drop the second copy): {}", .failed.len(), .failed.join("; "))]
    NotDeleted {
        queue: String,
        dlq: String,
        failed: Vec<String>,
    },
    #[error("a message cannot be sent as it was received")]
    Build(#[from] aws_sdk_sqs::error::BuildError),
}

/// What a redrive did: how many messages it moved, and where to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redriven {
    pub source: String,
    pub moved: usize,
}

fn sqs_error(
    call: &'static str,
    queue: &str,
    source: impl Into<aws_sdk_sqs::Error>,
) -> RedriveError {
    RedriveError::Sqs {
        call,
        queue: queue.to_owned(),
        source: Box::new(source.into()),
    }
}

/// A queue's URL from its URL or its name.
#[tracing::instrument(skip(sqs))]
pub async fn queue_url(sqs: &Client, name_or_url: &str) -> Result<String, RedriveError> {
    if name_or_url.starts_with("https://") || name_or_url.starts_with("http://") {
        return Ok(name_or_url.to_owned());
    }
    let found = sqs
        .get_queue_url()
        .queue_name(name_or_url)
        .send()
        .await
        .map_err(|e| RedriveError::NoQueue {
            name: name_or_url.to_owned(),
            source: Box::new(e.into()),
        })?;
    Ok(found.queue_url.unwrap_or_default())
}

/// The one queue whose redrive policy names `dlq`.
#[tracing::instrument(skip(sqs))]
pub async fn source_of(sqs: &Client, dlq: &str) -> Result<String, RedriveError> {
    let mut sources = Vec::new();
    let mut pages = sqs
        .list_dead_letter_source_queues()
        .queue_url(dlq)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sqs_error("ListDeadLetterSourceQueues", dlq, e))?;
        sources.extend(page.queue_urls);
    }
    match <[String; 1]>::try_from(sources) {
        Ok([source]) => Ok(source),
        Err(sources) if sources.is_empty() => Err(RedriveError::NoSource { dlq: dlq.into() }),
        Err(sources) => Err(RedriveError::ManySources {
            dlq: dlq.into(),
            sources,
        }),
    }
}

/// Moves the messages of the dead-letter queue `dlq` (a name or URL) to `to`, or else to the one
/// queue that sends it its failures, until a receive finds it empty. It moves at most as many as
/// the queue held when it began: a message that fails again and comes back is not moved round and
/// round. `progress` hears of each batch: how many it moved, and how many so far.
#[tracing::instrument(skip(sqs, progress))]
pub async fn redrive(
    sqs: &Client,
    dlq: &str,
    to: Option<&str>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Redriven, RedriveError> {
    let dlq = queue_url(sqs, dlq).await?;
    let source = match to {
        Some(to) => queue_url(sqs, to).await?,
        None => source_of(sqs, &dlq).await?,
    };
    let held = waiting(sqs, &dlq).await?;
    let mut moved = 0;
    while moved < held {
        let messages = receive(sqs, &dlq, (held - moved).min(BATCH)).await?;
        if messages.is_empty() {
            break;
        }
        let (sent, refused) = send(sqs, &source, &messages).await?;
        delete(sqs, &dlq, &source, &sent).await?;
        moved += sent.len();
        progress(sent.len(), moved);
        if !refused.is_empty() {
            return Err(RedriveError::Refused {
                queue: source,
                moved,
                refused,
            });
        }
    }
    Ok(Redriven { source, moved })
}

/// How many messages the queue holds that are not being received.
async fn waiting(sqs: &Client, queue: &str) -> Result<usize, RedriveError> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| sqs_error("GetQueueAttributes", queue, e))?;
    Ok(attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

async fn receive(sqs: &Client, dlq: &str, at_most: usize) -> Result<Vec<Message>, RedriveError> {
    let received = sqs
        .receive_message()
        .queue_url(dlq)
        .max_number_of_messages(i32::try_from(at_most).unwrap_or(10))
        .wait_time_seconds(DRAIN_WAIT_SECONDS)
        .visibility_timeout(VISIBILITY_SECONDS)
        .message_attribute_names("All")
        // A FIFO queue's messages must go back in their group.
        .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
        .send()
        .await
        .map_err(|e| sqs_error("ReceiveMessage", dlq, e))?;
    Ok(received.messages.unwrap_or_default())
}

/// `message` as an entry of a send to `source`, with `id`.
fn entry(
    id: usize,
    message: &Message,
    fifo: bool,
) -> Result<SendMessageBatchRequestEntry, RedriveError> {
    let group = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId));
    let mut entry = SendMessageBatchRequestEntry::builder()
        .id(id.to_string())
        .message_body(message.body().unwrap_or_default())
        .set_message_attributes(message.message_attributes().cloned());
    if fifo {
        // A fresh deduplication id: the message keeps its id through the dead-letter queue, so one
        // moved back, failed again and moved again within 5 minutes would, with an id derived from
        // it, be dropped by SQS as a duplicate and lost.
        entry = entry
            .set_message_group_id(group.cloned())
            .message_deduplication_id(ulid::Ulid::new().to_string());
    }
    Ok(entry.build()?)
}

/// Sends `messages` to `source` in one batch; answers the messages it accepted and why it refused
/// the others.
async fn send<'m>(
    sqs: &Client,
    source: &str,
    messages: &'m [Message],
) -> Result<(Vec<&'m Message>, Vec<String>), RedriveError> {
    let fifo = source.ends_with(".fifo");
    let entries = messages
        .iter()
        .enumerate()
        .map(|(id, message)| entry(id, message, fifo))
        .collect::<Result<Vec<_>, _>>()?;
    let output = match sqs
        .send_message_batch()
        .queue_url(source)
        .set_entries(Some(entries))
        .send()
        .await
    {
        Ok(output) => output,
        // Ten messages can be too large for one call where each alone is not.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_batch_request_too_long()) =>
        {
            return Ok(send_each(sqs, source, messages, fifo).await);
        }
        Err(e) => return Err(sqs_error("SendMessageBatch", source, e)),
    };
    let sent = output
        .successful
        .iter()
        .filter_map(|s| messages.get(s.id.parse::<usize>().ok()?))
        .collect();
    let refused = output
        .failed
        .iter()
        .map(|f| format!("{}: {}", f.code, f.message.as_deref().unwrap_or_default()))
        .collect();
    Ok((sent, refused))
}

/// Sends `messages` one call each.
async fn send_each<'m>(
    sqs: &Client,
    source: &str,
    messages: &'m [Message],
    fifo: bool,
) -> (Vec<&'m Message>, Vec<String>) {
    let (mut sent, mut refused) = (Vec::new(), Vec::new());
    for (id, message) in messages.iter().enumerate() {
        let entry = match entry(id, message, fifo) {
            Ok(entry) => entry,
            Err(e) => {
                refused.push(e.to_string());
                continue;
            }
        };
        let result = sqs
            .send_message()
            .queue_url(source)
            .message_body(entry.message_body)
            .set_message_attributes(entry.message_attributes)
            .set_message_group_id(entry.message_group_id)
            .set_message_deduplication_id(entry.message_deduplication_id)
            .send()
            .await;
        match result {
            Ok(_) => sent.push(message),
            Err(e) => refused.push(DisplayErrorContext(&e).to_string()),
        }
    }
    (sent, refused)
}

async fn delete(
    sqs: &Client,
    dlq: &str,
    source: &str,
    sent: &[&Message],
) -> Result<(), RedriveError> {
    if sent.is_empty() {
        return Ok(());
    }
    let entries = sent
        .iter()
        .enumerate()
        .map(|(id, message)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(id.to_string())
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let output = sqs
        .delete_message_batch()
        .queue_url(dlq)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| sqs_error("DeleteMessageBatch", dlq, e))?;
    if output.failed.is_empty() {
        return Ok(());
    }
    Err(RedriveError::NotDeleted {
        queue: source.to_owned(),
        dlq: dlq.to_owned(),
        failed: output
            .failed
            .iter()
            .map(|f| format!("{}: {}", f.code, f.message.as_deref().unwrap_or_default()))
            .collect(),
    })
}
