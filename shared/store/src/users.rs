use crate::{
    keys,
    transaction::{self, key, put_new, s, Item},
    CreateUser, FindCredentials, GetUser, Store, StoreError,
};
use cartwheel_domain::{Email, User, UserId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct UserRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "passwordHash")]
    password_hash: String,
    #[serde(flatten)]
    user: User,
}

/// What login checks: the account and its argon2 hash.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl Store {
    async fn user_record(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.item(keys::user(id), false)
            .await?
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| StoreError::corrupt(keys::user(id).0, e))
            })
            .transpose()
    }
}

impl CreateUser for Store {
    #[tracing::instrument(skip_all)]
    async fn create_user(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let (pk, sk) = keys::user(user.id);
        let record = UserRecord {
            pk: pk.clone(),
            sk,
            password_hash: password_hash.to_owned(),
            user: user.clone(),
        };
        let profile: Item =
            serde_dynamo::to_item(record).map_err(|e| StoreError::corrupt(pk, e))?;
        let mut email_guard = key(keys::email(&user.email));
        email_guard.insert("userId".into(), s(user.id.to_string()));
        let items = vec![
            put_new(&self.table, profile)?,
            put_new(&self.table, email_guard)?,
        ];
        transaction::run(&self.client, items, |cancelled| {
            if cancelled.failed(1) {
                StoreError::EmailTaken
            } else {
                StoreError::Unexpected(format!("user id {} is already in use", user.id))
            }
        })
        .await
    }
}

impl GetUser for Store {
    #[tracing::instrument(skip_all, fields(userId = %id))]
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.user_record(id).await?.map(|record| record.user))
    }
}

impl FindCredentials for Store {
    #[tracing::instrument(skip_all)]
    async fn find_credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        let Some(guard) = self.item(keys::email(email), false).await? else {
            return Ok(None);
        };
        let user_id = guard
            .get("userId")
            .and_then(|v| v.as_s().ok())
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| StoreError::corrupt(keys::email(email).0, "no userId"))?;
        Ok(self.user_record(user_id).await?.map(|record| Credentials {
            user: record.user,
            password_hash: record.password_hash,
        }))
    }
}
