//! A customer's cart lines.

use crate::StoreError;
use cartwheel_domain::{CartLine, ProductId, UserId};
use std::future::Future;

pub trait GetCart {
    fn cart_lines(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<CartLine>, StoreError>> + Send;
}

pub trait PutCartLine {
    /// Sets the line for `line.product_id`, replacing any quantity it had.
    fn put_cart_line(
        &self,
        user: UserId,
        line: &CartLine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait RemoveCartLine {
    fn remove_cart_line(
        &self,
        user: UserId,
        product: ProductId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
