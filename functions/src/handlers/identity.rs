//! Sign-up, login and the caller's own profile.

use super::store_error;
use cartwheel_domain::{Email, NewUser, Role, Timestamp, User, UserId};
use cartwheel_http::{json, json_body, ApiError, ApiResult, Caller};
use cartwheel_identity::{PasswordHash, TokenService};
use cartwheel_store::{CreateUser, FindCredentials, GetUser};
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

#[tracing::instrument(skip_all)]
pub async fn sign_up(store: &impl CreateUser, request: Request) -> ApiResult {
    let new: NewUser = json_body(&request)?;
    let user = register(store, new, Role::Customer).await?;
    json(StatusCode::CREATED, &user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: Email,
    password: String,
}

#[tracing::instrument(skip_all)]
pub async fn login(
    store: &impl FindCredentials,
    tokens: &TokenService,
    request: Request,
) -> ApiResult {
    let Login { email, password } = json_body(&request)?;
    let credentials = store.find_credentials(&email).await.map_err(store_error)?;
    let user = match credentials {
        Some(found) => {
            let hash = PasswordHash::from_stored(found.password_hash);
            blocking(move || hash.verify(&password))
                .await?
                .then_some(found.user)
        }
        None => {
            blocking(move || PasswordHash::verify_against_nothing(&password)).await?;
            None
        }
    };
    let user = user.ok_or(ApiError::BadCredentials)?;
    let token = tokens
        .issue(user.id, user.role)
        .map_err(ApiError::internal)?;
    json(StatusCode::OK, &token)
}

#[tracing::instrument(skip_all)]
pub async fn get_me(store: &impl GetUser, request: Request) -> ApiResult {
    let caller = Caller::of(&request)?;
    match store.get_user(caller.user_id).await.map_err(store_error)? {
        Some(user) => json(StatusCode::OK, &user),
        None => Err(ApiError::NotFound("your account".into())),
    }
}
