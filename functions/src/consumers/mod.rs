//! The domain events' consumers, each on its own queue (template.yaml): one module each, and the
//! e-mail they send at most once per event.

use crate::{
    consume::ConsumeError,
    mail::{SendMail, EMAIL_LEASE},
};
use cartwheel_domain::Email;
use cartwheel_store::{Claim, ClaimEmail, Mailing};

pub mod audit;
pub mod notify;
pub mod order_updates;
pub mod sales;
pub mod stock_alerts;

/// Sends the e-mail about `mailing` unless it went out already (`ClaimEmail`). A copy of the
/// event being sent at this moment fails with `EmailInFlight`, to come back after it.
pub async fn send_once(
    store: &impl ClaimEmail,
    mailer: &impl SendMail,
    mailing: Mailing,
    to: &Email,
    (subject, body): (&str, &str),
) -> Result<(), ConsumeError> {
    match store.claim_email(mailing, EMAIL_LEASE).await? {
        Claim::Sent => Ok(()),
        Claim::Held => Err(ConsumeError::EmailInFlight),
        Claim::Granted => {
            let message_id = mailer.send(to, subject, body).await?;
            Ok(store.mark_emailed(mailing, &message_id).await?)
        }
    }
}
