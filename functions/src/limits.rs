//! Abuse limits, each a `RateLimit` setting with a production default (template.yaml's
//! parameters; the offline stack raises the per-caller ones so one address can run a burst).
//! A limit is checked by taking a slot before the work, so concurrent requests cannot overrun it.

use cartwheel_domain::{RateLimit, Timestamp};
use cartwheel_http::ApiError;
use cartwheel_store::{Counter, GiveBackSlot, TakeSlot};

/// Failed logins, per account (the e-mail as typed, whether or not it has an account, so the
/// answer reveals nothing) and per client address; and the password checks the function may run.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account: RateLimit,
    pub per_address: RateLimit,
    pub hashes: HashLimit,
}

/// Sign-ups per client address; and the passwords the function may hash.
#[derive(Debug, Clone, Copy)]
pub struct SignUpLimits {
    pub per_address: RateLimit,
    pub hashes: HashLimit,
}

/// Argon2 runs one password function may start per window, across all its instances. It is how
/// a flood of sign-ups or logins is shed with 429 and `Retry-After`: API Gateway's own throttle
/// answers 429 without one, and a throttled Lambda answers 500, so the route's throttle and the
/// function's reserved concurrency are sized above this limit and it is the one that binds.
#[derive(Debug, Clone, Copy)]
pub struct HashLimit(pub RateLimit);

impl HashLimit {
    /// The slot one password check of `function` takes; it is never given back, since it counts
    /// the work started, whatever came of it.
    pub fn slot(self, function: &'static str) -> Slot {
        Slot {
            counter: Counter::new("password-hashes", function),
            limit: self.0,
            what: "password checks right now",
        }
    }
}

/// Orders placed per customer.
#[derive(Debug, Clone, Copy)]
pub struct OrderLimit(pub RateLimit);

/// One limit as it applies to one request: what it counts, for whom, and how many.
pub struct Slot {
    pub counter: Counter,
    pub limit: RateLimit,
    pub what: &'static str,
}

impl Slot {
    /// Takes the slot, or answers 429 with the seconds until the window ends.
    #[tracing::instrument(skip_all, fields(scope = self.counter.scope))]
    pub async fn take(&self, store: &impl TakeSlot, now: Timestamp) -> Result<(), ApiError> {
        let taken = store
            .take_slot(&self.counter, self.limit, now)
            .await
            .map_err(crate::store_answer::store_error)?;
        if taken {
            return Ok(());
        }
        tracing::warn!(scope = self.counter.scope, "limit reached");
        Err(ApiError::TooManyRequests {
            what: self.what,
            retry_after: self.limit.retry_after(now),
        })
    }

    /// Gives back a slot whose work came to nothing or must not count (a right password, a failed
    /// store, a request that turned out to be a replay). A failure to give it back is logged, not
    /// answered: the caller is owed the work's own answer, and a slot not given back costs at
    /// most one request too many counted until its window ends.
    pub async fn give_back(&self, store: &impl GiveBackSlot, taken_at: Timestamp) {
        let given = store
            .give_back_slot(&self.counter, self.limit, taken_at)
            .await;
        if let Err(error) = given {
            tracing::warn!(
                scope = self.counter.scope,
                ?error,
                "a slot was not given back"
            );
        }
    }
}

/// Takes every slot, in order; if one is refused, gives back those already taken.
pub async fn take_all(
    store: &(impl TakeSlot + GiveBackSlot),
    slots: &[Slot],
    now: Timestamp,
) -> Result<(), ApiError> {
    for (taken, slot) in slots.iter().enumerate() {
        if let Err(refused) = slot.take(store, now).await {
            give_back_all(store, &slots[..taken], now).await;
            return Err(refused);
        }
    }
    Ok(())
}

pub async fn give_back_all(store: &impl GiveBackSlot, slots: &[Slot], taken_at: Timestamp) {
    for slot in slots {
        slot.give_back(store, taken_at).await;
    }
}

#[cfg(test)]
mod tests;
