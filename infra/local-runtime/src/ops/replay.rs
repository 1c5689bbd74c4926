//! Replays the event bus's archive for a window of event times: EventBridge sends each archived
//! event of the window again to the rules of the bus (or only to the rules named), and from them to
//! the consumers' queues. The consumers apply an event once by its `eventId`, which a replay keeps,
//! so a replay redoes only what never happened: what a consumer missed while it was broken.
//!
//! Offline, moto's replay ignores the window and the rules; `infra/offline/moto_server.py` makes it
//! honour both.

use aws_sdk_eventbridge::{
    primitives::DateTime,
    types::{ReplayDestination, ReplayState},
    Client,
};
use std::time::Duration;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// How often a running replay is looked at. A replay of days of events takes minutes in AWS.
const POLL: Duration = Duration::from_secs(2);

/// The events to replay: those whose time is at or after `from` and before `to`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from: DateTime,
    pub to: DateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error("{text:?} is not an RFC 3339 time, such as 2026-12-01T09:00:00Z")]
    Time {
        text: String,
        #[source]
        source: time::error::Parse,
    },
    #[error("the window is empty: {from} is not before {to}")]
    Empty { from: String, to: String },
}

fn parse_time(text: &str) -> Result<DateTime, WindowError> {
    let time = OffsetDateTime::parse(text, &Rfc3339).map_err(|source| WindowError::Time {
        text: text.to_owned(),
        source,
    })?;
    Ok(DateTime::from_secs_and_nanos(
        time.unix_timestamp(),
        time.nanosecond(),
    ))
}

impl Window {
    /// The window from two RFC 3339 times (`2026-12-01T09:00:00Z`, `2026-12-01T10:00:00+01:00`).
    pub fn parse(from: &str, to: &str) -> Result<Self, WindowError> {
        let window = Self {
            from: parse_time(from)?,
            to: parse_time(to)?,
        };
        if window.from >= window.to {
            return Err(WindowError::Empty {
                from: from.to_owned(),
                to: to.to_owned(),
            });
        }
        Ok(window)
    }
}

/// What to replay: the bus, its archive (by default the bus's only one), the window, and the
/// rules to replay to (names or ARNs; none: every rule of the bus).
#[derive(Debug, Clone)]
pub struct Replay {
    pub bus: String,
    pub archive: Option<String>,
    pub window: Window,
    pub rules: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{call} for {what} failed")]
    EventBridge {
        call: &'static str,
        what: String,
        #[source]
        // Boxed: an SDK error is large, and every Result of this module carries it.
        source: Box<aws_sdk_eventbridge::Error>,
    },
    #[error("{bus} has no archive")]
    NoArchive { bus: String },
    #[error("{bus} has several archives ({}): name one", .archives.join(", "))]
    ManyArchives { bus: String, archives: Vec<String> },
    #[error("replay {replay} ended {state}: {reason}")]
    Ended {
        replay: String,
        state: String,
        reason: String,
    },
    #[error("the replay's destination cannot be built")]
    Build(#[from] aws_sdk_eventbridge::error::BuildError),
}

/// A replay that completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub name: String,
    pub archive: String,
    pub state: String,
}

fn failed(
    call: &'static str,
    what: &str,
    source: impl Into<aws_sdk_eventbridge::Error>,
) -> ReplayError {
    ReplayError::EventBridge {
        call,
        what: what.to_owned(),
        source: Box::new(source.into()),
    }
}

/// Starts the replay and waits until it has ended; an error unless it COMPLETED.
#[tracing::instrument(skip(events))]
pub async fn replay(events: &Client, request: &Replay) -> Result<Replayed, ReplayError> {
    let bus = &request.bus;
    let bus_arn = events
        .describe_event_bus()
        .name(bus)
        .send()
        .await
        .map_err(|e| failed("DescribeEventBus", bus, e))?
        .arn
        .unwrap_or_default();
    let archive = match &request.archive {
        Some(archive) => archive.clone(),
        None => archive_of(events, bus, &bus_arn).await?,
    };
    let archive_arn = events
        .describe_archive()
        .archive_name(&archive)
        .send()
        .await
        .map_err(|e| failed("DescribeArchive", &archive, e))?
        .archive_arn
        .unwrap_or_default();
    let mut filter = Vec::new();
    for rule in &request.rules {
        filter.push(rule_arn(events, bus, rule).await?);
    }
    let destination = ReplayDestination::builder()
        .arn(&bus_arn)
        .set_filter_arns((!filter.is_empty()).then_some(filter))
        .build()?;
    // Names are unique per account and region, and at most 64 characters.
    let name = format!("cartwheel-ops-{}", ulid::Ulid::new()).to_lowercase();
    events
        .start_replay()
        .replay_name(&name)
        .description(format!("cartwheel-ops replay of {archive}"))
        .event_source_arn(&archive_arn)
        .event_start_time(request.window.from)
        .event_end_time(request.window.to)
        .destination(destination)
        .send()
        .await
        .map_err(|e| failed("StartReplay", &archive, e))?;
    let state = wait_until_ended(events, &name).await?;
    Ok(Replayed {
        name,
        archive,
        state,
    })
}

/// The name of the bus's one archive.
async fn archive_of(events: &Client, bus: &str, bus_arn: &str) -> Result<String, ReplayError> {
    let listed = events
        .list_archives()
        .event_source_arn(bus_arn)
        .send()
        .await
        .map_err(|e| failed("ListArchives", bus, e))?;
    let mut archives: Vec<String> = listed
        .archives()
        .iter()
        .filter_map(|a| a.archive_name().map(str::to_owned))
        .collect();
    match archives.len() {
        0 => Err(ReplayError::NoArchive {
            bus: bus.to_owned(),
        }),
        1 => Ok(archives.remove(0)),
        _ => Err(ReplayError::ManyArchives {
            bus: bus.to_owned(),
            archives,
        }),
    }
}

async fn rule_arn(events: &Client, bus: &str, rule: &str) -> Result<String, ReplayError> {
    if rule.starts_with("arn:") {
        return Ok(rule.to_owned());
    }
    let described = events
        .describe_rule()
        .name(rule)
        .event_bus_name(bus)
        .send()
        .await
        .map_err(|e| failed("DescribeRule", rule, e))?;
    Ok(described.arn.unwrap_or_default())
}

/// Polls DescribeReplay until the replay has ended; its final state, if COMPLETED.
async fn wait_until_ended(events: &Client, name: &str) -> Result<String, ReplayError> {
    loop {
        let described = events
            .describe_replay()
            .replay_name(name)
            .send()
            .await
            .map_err(|e| failed("DescribeReplay", name, e))?;
        match described.state() {
            Some(ReplayState::Completed) => return Ok(ReplayState::Completed.as_str().to_owned()),
            Some(state @ (ReplayState::Failed | ReplayState::Cancelled)) => {
                return Err(ReplayError::Ended {
                    replay: name.to_owned(),
                    state: state.as_str().to_owned(),
                    reason: described
                        .state_reason()
                        .unwrap_or("no reason given")
                        .to_owned(),
                })
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}
