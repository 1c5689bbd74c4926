pub mod admin;
pub mod cart;
pub mod catalog;
#[cfg(test)]
mod fake;
pub mod favourites;
pub mod identity;
pub mod notifications;
pub mod orders;
pub mod realtime;
pub mod reports;
pub mod reviews;
pub mod system;

use cartwheel_http::ApiError;
use cartwheel_store::StoreError;

/// The one place where store failures become HTTP problems.
pub(crate) fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::DuplicateSku(_) | StoreError::EmailTaken | StoreError::VersionConflict => {
            ApiError::Conflict(error.to_string())
        }
        StoreError::NotFound => ApiError::NotFound("the item".into()),
        StoreError::InvalidCursor => ApiError::InvalidCursor,
        StoreError::LimitReached(_)
        | StoreError::AlreadyReviewed
        | StoreError::StockOutOfRange(_) => ApiError::Conflict(error.to_string()),
        StoreError::CorruptItem { .. } | StoreError::TooManyWrites(_) | StoreError::Dynamo(_) => {
            ApiError::internal(error)
        }
    }
}
