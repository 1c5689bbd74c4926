//! Products and their stock: reading, listing, writing and counting units.

use crate::{CategorySummary, ProductPage, ProductQuery, StoreError};
use cartwheel_domain::{Product, ProductId, StockChange, Timestamp};
use std::future::Future;

pub trait GetProduct {
    fn get_product(
        &self,
        id: ProductId,
    ) -> impl Future<Output = Result<Option<Product>, StoreError>> + Send;
}

pub trait ListProducts {
    fn list_products(
        &self,
        query: &ProductQuery,
    ) -> impl Future<Output = Result<ProductPage, StoreError>> + Send;
}

pub trait ListCategories {
    fn list_categories(
        &self,
    ) -> impl Future<Output = Result<Vec<CategorySummary>, StoreError>> + Send;
}

pub trait CreateProduct {
    /// Fails with `DuplicateSku` if another product has its SKU.
    fn create_product(
        &self,
        product: &Product,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ReplaceProduct {
    /// Writes `next`'s details over `current` only if the stored version is still
    /// `current.version`; the stock and the rating totals stay as they are in the table.
    fn replace_product(
        &self,
        current: &Product,
        next: &Product,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait DeleteProduct {
    /// Deletes `current` only if the stored version is still `current.version`.
    fn delete_product(
        &self,
        current: &Product,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ChangeStock {
    /// Applies `change` to the units on hand in one conditional write; `NotFound` if there is no
    /// such product, `VersionConflict` if a `Set` was read at another version, `StockOutOfRange`
    /// if a delta would take the stock out of its bounds.
    fn change_stock(
        &self,
        id: ProductId,
        change: StockChange,
        now: Timestamp,
    ) -> impl Future<Output = Result<Product, StoreError>> + Send;
}

pub trait GetProducts {
    /// The products that exist among `ids`, in no particular order.
    fn get_products(
        &self,
        ids: &[ProductId],
    ) -> impl Future<Output = Result<Vec<Product>, StoreError>> + Send;
}
