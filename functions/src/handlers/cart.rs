//! The caller's cart: lines priced from the catalog at the time they are read.

use super::store_error;
use cartwheel_domain::{CartLine, Money, Product, ProductId, Quantity, Timestamp, Total, UserId};
use cartwheel_http::{json, json_body, path_id, ApiError, ApiResult, Caller};
use cartwheel_store::{GetCart, GetProduct, GetProducts, PutCartLine, RemoveCartLine};
use lambda_http::{http::StatusCode, Request};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CartItem {
    product_id: ProductId,
    sku: String,
    name: String,
    unit_price: Money,
    quantity: Quantity,
    line_total: Total,
    in_stock: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CartView {
    items: Vec<CartItem>,
    item_count: i64,
    /// `null` for an empty cart.
    total: Option<Total>,
}

/// Prices each line at the product's current price. Lines whose product was deleted since are
/// left out; they cannot be ordered.
fn priced(lines: Vec<CartLine>, products: Vec<Product>) -> CartView {
    let mut by_id: HashMap<ProductId, Product> = products.into_iter().map(|p| (p.id, p)).collect();
    let mut items: Vec<CartItem> = lines
        .into_iter()
        .filter_map(|line| {
            let product = by_id.remove(&line.product_id)?;
            Some(CartItem {
                line_total: product.price.times(line.quantity),
                in_stock: product.stock.units() >= line.quantity.units(),
                product_id: product.id,
                sku: product.sku.to_string(),
                name: product.name.to_string(),
                unit_price: product.price,
                quantity: line.quantity,
            })
        })
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name).then(a.product_id.cmp(&b.product_id)));
    let total = items
        .iter()
        .map(|i| i.line_total.clone())
        .reduce(|sum, line| sum.plus(&line).unwrap_or(sum));
    CartView {
        item_count: items.iter().map(|i| i.quantity.units()).sum(),
        items,
        total,
    }
}

async fn cart_of(store: &(impl GetCart + GetProducts), user: UserId) -> ApiResult {
    let lines = store.cart_lines(user).await.map_err(store_error)?;
    let ids: Vec<ProductId> = lines.iter().map(|l| l.product_id).collect();
    let products = store.get_products(&ids).await.map_err(store_error)?;
    json(StatusCode::OK, &priced(lines, products))
}

#[tracing::instrument(skip_all)]
pub async fn get_cart(store: &(impl GetCart + GetProducts), request: Request) -> ApiResult {
    cart_of(store, Caller::of(&request)?.user_id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CartQuantity {
    quantity: Quantity,
}

/// Sets a line's quantity. A cart holds one currency, so that it has one total.
#[tracing::instrument(skip_all)]
pub async fn put_item(
    store: &(impl GetCart + GetProduct + GetProducts + PutCartLine),
    request: Request,
) -> ApiResult {
    let caller = Caller::of(&request)?;
    let product_id: ProductId = path_id(&request, "productId")?;
    let CartQuantity { quantity } = json_body(&request)?;
    let product = store
        .get_product(product_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("product {product_id}")))?;
    let lines = store
        .cart_lines(caller.user_id)
        .await
        .map_err(store_error)?;
    let others: Vec<ProductId> = lines
        .iter()
        .map(|l| l.product_id)
        .filter(|id| *id != product_id)
        .collect();
    if let Some(other) = store
        .get_products(&others)
        .await
        .map_err(store_error)?
        .first()
    {
        if other.price.currency != product.price.currency {
            return Err(ApiError::Conflict(format!(
                "the cart is in {}; product {product_id} is priced in {}",
                other.price.currency, product.price.currency
            )));
        }
    }
    let line = CartLine {
        product_id,
        quantity,
        added_at: Timestamp::now(),
    };
    store
        .put_cart_line(caller.user_id, &line)
        .await
        .map_err(store_error)?;
    cart_of(store, caller.user_id).await
}

/// Removes a line; removing one that is not there changes nothing and still answers the cart.
#[tracing::instrument(skip_all, fields(productId))]
pub async fn remove_item(
    store: &(impl GetCart + GetProducts + RemoveCartLine),
    request: Request,
) -> ApiResult {
    let caller = Caller::of(&request)?;
    let product_id: ProductId = path_id(&request, "productId")?;
    store
        .remove_cart_line(caller.user_id, product_id)
        .await
        .map_err(store_error)?;
    cart_of(store, caller.user_id).await
}

#[cfg(test)]
mod tests;
