//! E-mail to customers through Amazon SES (v2), from the one verified sender identity the
//! template declares.

use cartwheel_domain::Email;
use std::{future::Future, time::Duration};

/// How long a claim to send an e-mail holds: longer than a send takes (a consumer's timeout is
/// 10 s), shorter than its queue's visibility timeout, so a redelivery after a crash may send.
pub const EMAIL_LEASE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("SES did not send the e-mail")]
pub struct MailError(#[source] pub Box<aws_sdk_sesv2::Error>);

/// Sends one plain-text e-mail; answers SES's message id.
pub trait SendMail {
    fn send(
        &self,
        to: &Email,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<String, MailError>> + Send;
}

pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl Mailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }
}

fn text(data: &str) -> Result<aws_sdk_sesv2::types::Content, MailError> {
    aws_sdk_sesv2::types::Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError(Box::new(e.into())))
}

impl SendMail for Mailer {
    #[tracing::instrument(skip_all)]
    async fn send(&self, to: &Email, subject: &str, body: &str) -> Result<String, MailError> {
        use aws_sdk_sesv2::types::{Body, Destination, EmailContent, Message};
        let message = Message::builder()
            .subject(text(subject)?)
            .body(Body::builder().text(text(body)?).build())
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.to_string()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| MailError(Box::new(e.into())))?;
        Ok(output.message_id.unwrap_or_default())
    }
}
