//! One execution of the checkout saga, run by the explorer: the state machine as the ASL file
//! writes it, each Task the step's real handler against DynamoDB Local, with faults injected
//! around the call (a crash before or after the step's writes, a duplicate delivery, the
//! execution stopped).

use super::rng::Rng;
use crate::states::asl::{on_error, Machine, OnError, State};
use cartwheel_domain::{BreakerPolicy, OrderId};
use cartwheel_functions::saga::{self, SagaInput, StepResult};
use cartwheel_store::Store;

/// What Lambda reports for an invocation that crashed or timed out (a task failure that every
/// `States.TaskFailed` retrier matches).
const CRASH: &str = "Sandbox.Timedout";
/// What a step answers while what it calls is out (every Task retries it, then catches it).
const OUTAGE: &str = "StoreUnavailable";
/// More transitions than any run of the checkout takes: a loop in the definition is a finding.
const MAX_TRANSITIONS: usize = 200;

/// How a step attempt failed, as Step Functions sees it: the error's name, which the Task's
/// retriers and catchers match (`ErrorEquals`); Lambda's message is not the explorer's to keep.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TaskFailed(pub String);

/// The bare name, as the schedule's log has always shown an attempt's `Err("...")`.
impl std::fmt::Debug for TaskFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The invocation dies before the handler writes anything.
    CrashBefore,
    /// The handler's writes land, then the invocation dies (or times out) before it answers.
    CrashAfter,
    /// The step is delivered twice; the second answer counts.
    Duplicate,
    /// The execution is stopped before this step (an operator, a deploy, a dead account).
    Stop,
}

/// How likely each fault is, per mille: `failing_step` for one execution (one of its Tasks
/// answers a passing error, `StoreUnavailable`, on every attempt, as in an outage, so the
/// execution ends in a Catch), the others for each step invocation.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    pub failing_step: u64,
    pub crash_before: u64,
    pub crash_after: u64,
    pub duplicate: u64,
    pub stop: u64,
}

impl FaultRates {
    fn pick(&self, rng: &mut Rng) -> Fault {
        let roll = rng.below(1000);
        let mut edge = 0;
        for (rate, fault) in [
            (self.crash_before, Fault::CrashBefore),
            (self.crash_after, Fault::CrashAfter),
            (self.duplicate, Fault::Duplicate),
            (self.stop, Fault::Stop),
        ] {
            edge += rate;
            if roll < edge {
                return fault;
            }
        }
        Fault::None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Succeeded(String),
    Failed(String),
    Stopped(String),
}

/// Runs the step `function` names on the order, as its Lambda would.
pub async fn invoke(
    store: &Store,
    breaker: BreakerPolicy,
    function: &str,
    order: OrderId,
) -> StepResult {
    let input = SagaInput { order_id: order };
    match function {
        "ReserveStockFunction" => saga::reserve_stock(store, input).await,
        "AuthorizePaymentFunction" => saga::authorize_payment(store, breaker, input).await,
        "ConfirmOrderFunction" => saga::confirm_order(store, input).await,
        "CreateShipmentFunction" => saga::create_shipment(store, input).await,
        "RefundPaymentFunction" => saga::refund_payment(store, input).await,
        "ReleaseStockFunction" => saga::release_stock(store, input).await,
        "MarkPaymentFailedFunction" => saga::mark_payment_failed(store, input).await,
        other => panic!("the state machine names {other}, which the explorer cannot run"),
    }
}

async fn attempt(
    store: &Store,
    breaker: BreakerPolicy,
    function: &str,
    order: OrderId,
    fault: Fault,
) -> Result<(), TaskFailed> {
    let answer = |r: StepResult| {
        r.map(drop)
            .map_err(|e| TaskFailed(e.error_type().to_owned()))
    };
    match fault {
        Fault::CrashBefore => Err(TaskFailed(CRASH.into())),
        Fault::CrashAfter => {
            let _ = invoke(store, breaker, function, order).await;
            Err(TaskFailed(CRASH.into()))
        }
        Fault::Duplicate => {
            let _ = invoke(store, breaker, function, order).await;
            answer(invoke(store, breaker, function, order).await)
        }
        Fault::None | Fault::Stop => answer(invoke(store, breaker, function, order).await),
    }
}

/// One execution from the machine's start; `log` gets a line per step attempt.
pub async fn execute(
    machine: &Machine,
    store: &Store,
    breaker: BreakerPolicy,
    order: OrderId,
    rates: FaultRates,
    rng: &mut Rng,
    log: &mut Vec<String>,
) -> Ended {
    let mut at = machine.start.clone();
    let tasks = machine.tasks();
    let failing = rng
        .chance(rates.failing_step)
        .then(|| tasks[rng.below(tasks.len() as u64) as usize].clone());
    if let Some(step) = &failing {
        log.push(format!("{order}: {step} is failing in this execution"));
    }
    for _ in 0..MAX_TRANSITIONS {
        let (function, retry, catch, next) = match machine.state(&at) {
            State::Succeed => return Ended::Succeeded(at),
            State::Fail { .. } => return Ended::Failed(at),
            State::Task {
                function,
                retry,
                catch,
                next,
            } => (function, retry, catch, next),
        };
        let mut attempts = vec![0; retry.len()];
        loop {
            let fault = rates.pick(rng);
            if fault == Fault::Stop {
                log.push(format!("{order} {at}: execution stopped"));
                return Ended::Stopped(at);
            }
            let began = std::time::Instant::now();
            let result = if failing.as_ref() == Some(&at) {
                Err(TaskFailed(OUTAGE.to_owned()))
            } else {
                attempt(store, breaker, function, order, fault).await
            };
            let ms = began.elapsed().as_millis();
            log.push(format!("{order} {at} {fault:?}: {result:?} ({ms} ms)"));
            match result {
                Ok(()) => {
                    at = next.clone().expect("a Task has Next (checked on parse)");
                    break;
                }
                Err(TaskFailed(error)) => match on_error(retry, catch, &attempts, &error) {
                    OnError::Retry(i) => attempts[i] += 1,
                    OnError::Goto(state) => {
                        at = state;
                        break;
                    }
                    OnError::FailExecution => return Ended::Failed(format!("{at}: {error}")),
                },
            }
        }
    }
    Ended::Failed(format!("more than {MAX_TRANSITIONS} transitions"))
}
