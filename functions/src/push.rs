//! Messages to WebSocket clients through API Gateway's management API (`PostToConnection`), at
//! the endpoint of the stage the template declares.

use aws_sdk_apigatewaymanagement::{
    operation::post_to_connection::PostToConnectionError, primitives::Blob,
};
use std::future::Future;

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Delivered,
    /// The connection is closed (API Gateway's 410 `GoneException`).
    Gone,
}

#[derive(Debug, thiserror::Error)]
#[error("API Gateway did not take the message")]
pub struct PushError(#[source] pub Box<aws_sdk_apigatewaymanagement::Error>);

pub trait PushToConnection {
    fn push(
        &self,
        connection_id: &str,
        data: &[u8],
    ) -> impl Future<Output = Result<Pushed, PushError>> + Send;
}

pub struct Connections {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl Connections {
    pub fn new(client: aws_sdk_apigatewaymanagement::Client) -> Self {
        Self { client }
    }
}

impl PushToConnection for Connections {
    #[tracing::instrument(skip_all, fields(connectionId = connection_id))]
    async fn push(&self, connection_id: &str, data: &[u8]) -> Result<Pushed, PushError> {
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Pushed::Delivered),
            Err(error) => match error.as_service_error() {
                Some(PostToConnectionError::GoneException(_)) => Ok(Pushed::Gone),
                _ => Err(PushError(Box::new(error.into()))),
            },
        }
    }
}
