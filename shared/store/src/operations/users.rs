//! Customer accounts and the credentials to sign in with.

use crate::{Credentials, StoreError};
use cartwheel_domain::{Email, User, UserId};
use std::future::Future;

pub trait CreateUser {
    /// Fails with `EmailTaken` if the e-mail address has an account.
    fn create_user(
        &self,
        user: &User,
        password_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait GetUser {
    fn get_user(&self, id: UserId)
        -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

pub trait FindCredentials {
    fn find_credentials(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<Credentials>, StoreError>> + Send;
}
