//! The one place where a store failure becomes an HTTP problem, for the handlers and for the
//! limits they check first.

use cartwheel_http::ApiError;
use cartwheel_store::StoreError;

/// How long a client throttled by DynamoDB is told to wait: DynamoDB's own retries back off for
/// about this long before the SDK gives up.
const THROTTLED_RETRY_AFTER_S: u64 = 1;

/// The one place where store failures become HTTP problems. DynamoDB refusing a call for capacity,
/// or not answering it in time, is overload, answered 429 with `Retry-After`, never a 5xx. A
/// write that timed out may have been made: a retry finds an order by its Idempotency-Key and
/// sets a cart line or a favourite again; a sign-up, a product or a review made that way answers
/// the retry 409.
pub fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::DuplicateSku(_) | StoreError::EmailTaken | StoreError::VersionConflict => {
            ApiError::Conflict(error.to_string())
        }
        StoreError::NotFound => ApiError::NotFound("the item".into()),
        StoreError::InvalidCursor => ApiError::InvalidCursor,
        StoreError::LimitReached(_)
        | StoreError::AlreadyReviewed
        | StoreError::StockOutOfRange(_) => ApiError::Conflict(error.to_string()),
        StoreError::Throttled(_) | StoreError::TimedOut(_) => ApiError::TooManyRequests {
            what: "requests",
            retry_after: THROTTLED_RETRY_AFTER_S,
        },
        StoreError::CorruptItem { .. }
        | StoreError::TooManyWrites(_)
        | StoreError::Call(_)
        | StoreError::Build(_)
        | StoreError::Encoding(_)
        | StoreError::Unexpected(_) => ApiError::internal(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::StatusCode;

    #[test]
    fn a_throttled_or_timed_out_store_is_overload_and_a_failed_call_is_an_error() {
        let throttled = store_error(StoreError::Throttled("slow down".into()));
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        let response = cartwheel_http::problem(&throttled);
        assert_eq!(response.headers()["retry-after"], "1");
        let timed_out = store_error(StoreError::TimedOut("no answer".into()));
        assert_eq!(timed_out.status(), StatusCode::TOO_MANY_REQUESTS);
        let failed = store_error(StoreError::Call("connection refused".into()));
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
