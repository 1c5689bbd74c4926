//! The caller's favourite products: added and removed idempotently, listed newest first with the
//! catalog's current name, price and stock.

use super::store_error;
use cartwheel_domain::{Money, Product, ProductId, Timestamp};
use cartwheel_http::{json, no_content, path_id, ApiError, ApiResult, Caller};
use cartwheel_store::{AddFavourite, GetProducts, ListFavourites, RemoveFavourite, StoreError};
use lambda_http::{http::StatusCode, Request};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FavouriteView {
    product_id: ProductId,
    sku: String,
    name: String,
    price: Money,
    in_stock: bool,
    added_at: Timestamp,
}

#[derive(Serialize)]
struct Favourites {
    items: Vec<FavouriteView>,
}

/// `GET /favourites`. A product deleted since it was added is left out.
#[tracing::instrument(skip_all)]
pub async fn list_favourites(
    store: &(impl ListFavourites + GetProducts),
    request: Request,
) -> ApiResult {
    let user = Caller::of(&request)?.user_id;
    let mut favourites = store.list_favourites(user).await.map_err(store_error)?;
    favourites.sort_by(|a, b| {
        b.added_at
            .cmp(&a.added_at)
            .then(a.product_id.cmp(&b.product_id))
    });
    let ids: Vec<ProductId> = favourites.iter().map(|f| f.product_id).collect();
    let products = store.get_products(&ids).await.map_err(store_error)?;
    let by_id: HashMap<ProductId, Product> = products.into_iter().map(|p| (p.id, p)).collect();
    let items = favourites
        .into_iter()
        .filter_map(|favourite| {
            let product = by_id.get(&favourite.product_id)?;
            Some(FavouriteView {
                product_id: product.id,
                sku: product.sku.to_string(),
                name: product.name.to_string(),
                price: product.price.clone(),
                in_stock: product.stock.units() > 0,
                added_at: favourite.added_at,
            })
        })
        .collect();
    json(StatusCode::OK, &Favourites { items })
}

/// `PUT /favourites/{productId}`: 204 whether it was a favourite already or not.
#[tracing::instrument(skip_all, fields(productId))]
pub async fn add_favourite(store: &impl AddFavourite, request: Request) -> ApiResult {
    let user = Caller::of(&request)?.user_id;
    let product: ProductId = path_id(&request, "productId")?;
    tracing::Span::current().record("productId", tracing::field::display(product));
    match store.add_favourite(user, product).await {
        Ok(_) => no_content(),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("product {product}"))),
        Err(error) => Err(store_error(error)),
    }
}

/// `DELETE /favourites/{productId}`: 204 whether it was a favourite or not.
#[tracing::instrument(skip_all, fields(productId))]
pub async fn remove_favourite(store: &impl RemoveFavourite, request: Request) -> ApiResult {
    let user = Caller::of(&request)?.user_id;
    let product: ProductId = path_id(&request, "productId")?;
    tracing::Span::current().record("productId", tracing::field::display(product));
    store
        .remove_favourite(user, product)
        .await
        .map_err(store_error)?;
    no_content()
}

#[cfg(test)]
mod tests;
