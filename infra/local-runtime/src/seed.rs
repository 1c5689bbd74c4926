//! Demo data and the first admin, written through the same store code the handlers use.
//! Both are idempotent: an existing SKU or e-mail is left as it is.

use cartwheel_domain::{
    Email, InvalidValue, NewProduct, NewUser, Password, PersonName, Product, ProductId, Role,
    Timestamp,
};
use cartwheel_functions::handlers::identity::register;
use cartwheel_http::ApiError;
use cartwheel_store::{CreateProduct, CreateUser, Store, StoreError};

pub const DEMO_CATALOG: &str = include_str!("../../offline/demo-catalog.json");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the demo catalog is not valid")]
    Catalog(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not create the admin")]
    Admin(#[source] ApiError),
    /// A setting refused: the reason completes the sentence "<variable> ...".
    #[error("{variable} {reason}")]
    Setting {
        variable: &'static str,
        reason: InvalidValue,
    },
}

/// `map_err` for a refused setting.
fn setting(variable: &'static str) -> impl FnOnce(InvalidValue) -> SeedError {
    move |reason| SeedError::Setting { variable, reason }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub created: usize,
    pub already_there: usize,
}

pub async fn demo_catalog(store: &Store) -> Result<SeedReport, SeedError> {
    let products: Vec<NewProduct> = serde_json::from_str(DEMO_CATALOG)?;
    let mut report = SeedReport::default();
    for new in products {
        let product = Product::create(ProductId::generate(), new, Timestamp::now());
        match store.create_product(&product).await {
            Ok(()) => report.created += 1,
            Err(StoreError::DuplicateSku(_)) => report.already_there += 1,
            Err(error) => return Err(error.into()),
        }
    }
    Ok(report)
}

/// Creates the admin account unless the e-mail address already has one. Returns whether it did.
pub async fn admin(store: &(impl CreateUser + Sync), new: NewUser) -> Result<bool, SeedError> {
    match register(store, new, Role::Admin).await {
        Ok(_) => Ok(true),
        Err(ApiError::Conflict(_)) => Ok(false),
        Err(error) => Err(SeedError::Admin(error)),
    }
}

/// The admin described by `ADMIN_EMAIL`, `ADMIN_PASSWORD` and optionally `ADMIN_NAME`, if set.
pub fn admin_from_env() -> Result<Option<NewUser>, SeedError> {
    let (Ok(email), Ok(password)) = (
        std::env::var("ADMIN_EMAIL"),
        std::env::var("ADMIN_PASSWORD"),
    ) else {
        return Ok(None);
    };
    let name = std::env::var("ADMIN_NAME").unwrap_or_else(|_| "Cartwheel Admin".into());
    Ok(Some(NewUser {
        email: Email::parse(&email).map_err(setting("ADMIN_EMAIL"))?,
        password: Password::parse(&password).map_err(setting("ADMIN_PASSWORD"))?,
        name: PersonName::parse(&name).map_err(setting("ADMIN_NAME"))?,
    }))
}
