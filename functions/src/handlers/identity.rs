//! Sign-up, login and the caller's own profile.

use super::store_error;
use crate::limits::{give_back_all, take_all, LoginLimits, SignUpLimits, Slot};
use cartwheel_domain::{Email, NewUser, Role, Timestamp, User, UserId};
use cartwheel_http::{client_address, json, json_body, ApiError, ApiResult, Caller};
use cartwheel_identity::{PasswordHash, TokenService};
use cartwheel_store::{Counter, CreateUser, FindCredentials, GetUser, GiveBackSlot, TakeSlot};
use lambda_http::{http::StatusCode, Request};
use serde::Deserialize;

/// Argon2 is deliberately slow; hashing off the async workers keeps other requests moving.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}

/// Creates an account with `role`; sign-up always passes `Customer`, the seed passes `Admin`.
pub async fn register(store: &impl CreateUser, new: NewUser, role: Role) -> Result<User, ApiError> {
    let password = new.password;
    let hash = blocking(move || PasswordHash::create(&password))
        .await?
        .map_err(ApiError::internal)?;
    let user = User {
        id: UserId::generate(),
        email: new.email,
        name: new.name,
        role,
        created_at: Timestamp::now(),
    };
    store
        .create_user(&user, hash.as_str())
        .await
        .map_err(store_error)?;
    Ok(user)
}

/// A sign-up takes a slot of its address's limit, then one of the function's password hashes; a
/// sign-up refused the second gives the first back, as it did nothing.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    store: &(impl CreateUser + TakeSlot + GiveBackSlot),
    limits: &SignUpLimits,
    request: Request,
) -> ApiResult {
    let new: NewUser = json_body(&request)?;
    let slots = [
        Slot {
            counter: Counter::new("sign-up-address", client_address(&request)),
            limit: limits.per_address,
            what: "sign-ups from this address",
        },
        limits.hashes.slot("sign-up"),
    ];
    take_all(store, &slots, Timestamp::now()).await?;
    let user = register(store, new, Role::Customer).await?;
    json(StatusCode::CREATED, &user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: Email,
    password: String,
}

/// A login takes a slot of each failed-login limit first and gives them back if the password is
/// right or could not be checked (the store failed), so only wrong passwords count, a correct
/// password cannot slip past an exhausted limit, and concurrent guesses cannot overrun one. An
/// unknown e-mail is counted and hashed like a known one: neither the answer nor its timing
/// tells them apart. Last comes a slot of the function's password checks, so a lockout or an
/// address past its limit is answered without spending one.
#[tracing::instrument(skip_all)]
pub async fn login(
    store: &(impl FindCredentials + TakeSlot + GiveBackSlot),
    tokens: &TokenService,
    limits: &LoginLimits,
    request: Request,
) -> ApiResult {
    let Login { email, password } = json_body(&request)?;
    let now = Timestamp::now();
    let all = [
        Slot {
            counter: Counter::new("login-account", email.as_str()),
            limit: limits.per_account,
            what: "failed logins for this account",
        },
        Slot {
            counter: Counter::new("login-address", client_address(&request)),
            limit: limits.per_address,
            what: "failed logins from this address",
        },
        limits.hashes.slot("login"),
    ];
    take_all(store, &all, now).await?;
    // The failed-login slots, given back unless the password was wrong; the hash slot is spent
    // once a password has been checked.
    let slots = &all[..2];
    let user = match verified(store, &email, password).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(ApiError::BadCredentials),
        // Our failure, not the caller's: no password was checked, so no failure may count.
        Err(error) => {
            give_back_all(store, &all, now).await;
            return Err(error);
        }
    };
    give_back_all(store, slots, now).await;
    let token = tokens
        .issue(user.id, user.role)
        .map_err(ApiError::internal)?;
    json(StatusCode::OK, &token)
}

/// The account `email` names, if `password` is its password.
async fn verified(
    store: &impl FindCredentials,
    email: &Email,
    password: String,
) -> Result<Option<User>, ApiError> {
    match store.find_credentials(email).await.map_err(store_error)? {
        Some(found) => {
            let hash = PasswordHash::from_stored(found.password_hash);
            Ok(blocking(move || hash.verify(&password))
                .await?
                .then_some(found.user))
        }
        None => {
            blocking(move || PasswordHash::verify_against_nothing(&password)).await?;
            Ok(None)
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn get_me(store: &impl GetUser, request: Request) -> ApiResult {
    let caller = Caller::of(&request)?;
    match store.get_user(caller.user_id).await.map_err(store_error)? {
        Some(user) => json(StatusCode::OK, &user),
        None => Err(ApiError::NotFound("your account".into())),
    }
}

#[cfg(test)]
mod tests;
