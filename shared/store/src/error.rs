use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use cartwheel_domain::Sku;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a product with SKU {0} already exists")]
    DuplicateSku(Sku),
    #[error("an account with this e-mail address already exists")]
    EmailTaken,
    #[error("the item was changed by someone else since it was read")]
    VersionConflict,
    #[error("the item does not exist")]
    NotFound,
    #[error("the cursor is not one this API issued for this query")]
    InvalidCursor,
    #[error("stored item {key} is malformed: {reason}")]
    CorruptItem { key: String, reason: String },
    #[error("you have reviewed this product already; change that review instead")]
    AlreadyReviewed,
    #[error("the change would take the stock (now {0}) below 0 or above 1000000000")]
    StockOutOfRange(i64),
    #[error("the limit of {0} is reached")]
    LimitReached(i64),
    #[error("one event asks for {0} writes; a transaction takes 99 besides its dedup record")]
    TooManyWrites(usize),
    #[error("DynamoDB call failed: {0}")]
    Dynamo(String),
}

impl StoreError {
    pub(crate) fn corrupt(key: impl Into<String>, reason: impl ToString) -> Self {
        Self::CorruptItem {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(error: SdkError<E, R>) -> Self {
        Self::Dynamo(DisplayErrorContext(&error).to_string())
    }
}
