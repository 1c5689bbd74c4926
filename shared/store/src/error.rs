use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use cartwheel_domain::Sku;

/// A cause kept as it came, with its own chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The error codes with which DynamoDB refuses a call for capacity, not for what it asked: a
/// retry later succeeds, so a client is told to come back (429), not that something broke.
const THROTTLING: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

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
    /// DynamoDB refused the call for capacity (`THROTTLING`); the same call later succeeds.
    #[error("DynamoDB throttled the call")]
    Throttled(#[source] Cause),
    /// DynamoDB did not answer in time (the SDK's timeout, a stalled request, or an answer that
    /// began and stalled or broke off before its end): overload as much as a throttle is. A write
    /// may have been made; a retry must recognise it.
    #[error("DynamoDB did not answer in time")]
    TimedOut(#[source] Cause),
    /// The call failed otherwise: no connection, a 5xx, an error this store does not expect.
    #[error("a DynamoDB call failed")]
    Call(#[source] Cause),
    /// A request could not be built from what the store gave it (a required field unset).
    #[error("a DynamoDB request could not be built")]
    Build(#[source] BuildError),
    /// A value could not be written as, or read from, DynamoDB's attributes.
    #[error("a value could not be converted to or from DynamoDB attributes")]
    Encoding(#[source] serde_dynamo::Error),
    /// A call answered in a way the store's own rules say cannot happen (a transaction cancelled
    /// for no condition, a write that kept conflicting): the message says which.
    #[error("{0}")]
    Unexpected(String),
}

impl StoreError {
    pub(crate) fn corrupt(key: impl Into<String>, reason: impl ToString) -> Self {
        Self::CorruptItem {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl StoreError {
    /// Whether the same call may succeed later: a throttle, a timeout, or a failed call. The handlers and
    /// the saga match on the variants themselves today; the saga still retries every other
    /// store failure too, until its Catch (see the closing note of 2026-12-07).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled(_) | Self::TimedOut(_) | Self::Call(_))
    }
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(error: SdkError<E, R>) -> Self {
        let throttled = error.code().is_some_and(|code| THROTTLING.contains(&code));
        let timed_out = match &error {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(failure) => failure.is_timeout(),
            // The answer's body could not be read to its end (the SDK's stalled-stream protection
            // ends one that stops coming): the call's outcome is as unknown as after a timeout,
            // and the SDK's own retry classifier treats the two alike.
            SdkError::ResponseError(_) => true,
            _ => false,
        };
        if throttled {
            Self::Throttled(Box::new(error))
        } else if timed_out {
            Self::TimedOut(Box::new(error))
        } else {
            Self::Call(Box::new(error))
        }
    }
}

impl From<BuildError> for StoreError {
    fn from(error: BuildError) -> Self {
        Self::Build(error)
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(error: serde_dynamo::Error) -> Self {
        Self::Encoding(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::{
        config::http::HttpResponse,
        error::{ConnectorError, ErrorMetadata},
        operation::get_item::GetItemError,
    };
    use aws_sdk_dynamodb::{
        config::{
            retry::RetryConfig, BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
        },
        types::AttributeValue,
    };
    use aws_smithy_types::body::SdkBody;
    use std::{error::Error, time::Duration};
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    fn refused(code: &str) -> StoreError {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("refused")
            .build();
        let raw = HttpResponse::new(400.try_into().unwrap(), SdkBody::from(""));
        SdkError::service_error(GetItemError::generic(meta), raw).into()
    }

    #[test]
    fn a_throttle_is_told_from_a_failure_by_its_code_and_keeps_its_cause() {
        for code in THROTTLING {
            let error = refused(code);
            assert!(
                matches!(error, StoreError::Throttled(_)),
                "{code}: {error:?}"
            );
            assert!(error.is_transient());
        }
        let error = refused("ResourceNotFoundException");
        assert!(matches!(error, StoreError::Call(_)), "{error:?}");
        let cause = error.source().expect("the SDK's error is kept");
        assert!(format!("{cause:?}").contains("ResourceNotFoundException"));
        assert!(!StoreError::VersionConflict.is_transient());
    }

    /// An overloaded DynamoDB (here: DynamoDB Local starved of CPU) stops answering before it
    /// throttles; a client must hear "come back" then too, not that something broke.
    #[test]
    fn a_call_that_timed_out_is_told_from_a_failure_and_keeps_its_cause() {
        let stalled = ConnectorError::timeout("minimum throughput was not met".into());
        let timeouts: [SdkError<GetItemError, HttpResponse>; 2] = [
            SdkError::dispatch_failure(stalled),
            SdkError::timeout_error("the operation's timeout passed"),
        ];
        for timeout in timeouts {
            let error = StoreError::from(timeout);
            assert!(matches!(error, StoreError::TimedOut(_)), "{error:?}");
            assert!(error.is_transient());
            assert!(error.source().is_some(), "the SDK's error is kept");
        }
        let refused = ConnectorError::io("connection refused".into());
        let error = StoreError::from(SdkError::<GetItemError, HttpResponse>::dispatch_failure(
            refused,
        ));
        assert!(matches!(error, StoreError::Call(_)), "{error:?}");
    }

    /// A DynamoDB that sends its answer's head and then stalls, as one starved of CPU does, over
    /// real HTTP: the SDK's stalled-stream protection ends the call, and that is a timeout too.
    #[tokio::test]
    async fn an_answer_that_stalls_half_way_is_a_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.read(&mut [0; 8192]).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                        content-length: 1000\r\n\r\n{\"Item\":";
            socket.write_all(head.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let stalls = StalledStreamProtectionConfig::enabled()
            .grace_period(Duration::from_secs(1))
            .build();
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .stalled_stream_protection(stalls)
            .retry_config(RetryConfig::disabled())
            .build();
        let answer = aws_sdk_dynamodb::Client::from_conf(config)
            .get_item()
            .table_name("cartwheel")
            .key("PK", AttributeValue::S("PRODUCT#1".into()))
            .send()
            .await;
        server.abort();
        let error = StoreError::from(answer.expect_err("the answer never ends"));
        assert!(matches!(error, StoreError::TimedOut(_)), "{error:?}");
        assert!(error.source().is_some(), "the SDK's error is kept");
    }
}
