//! A customer's favourite products.

use crate::{Added, Favourite, StoreError};
use cartwheel_domain::{ProductId, UserId};
use std::future::Future;

pub trait AddFavourite {
    /// `NotFound` if there is no such product; `LimitReached` past `MAX_FAVOURITES`.
    fn add_favourite(
        &self,
        user: UserId,
        product: ProductId,
    ) -> impl Future<Output = Result<Added, StoreError>> + Send;
}

pub trait RemoveFavourite {
    fn remove_favourite(
        &self,
        user: UserId,
        product: ProductId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListFavourites {
    fn list_favourites(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<Favourite>, StoreError>> + Send;
}
