//! Catalog management; every handler here answers 403 to anyone but an admin.

use super::store_error;
use cartwheel_domain::{NewProduct, Product, ProductId, ProductUpdate, StockChange, Timestamp};
use cartwheel_http::{json, json_body, no_content, path_id, ApiError, ApiResult, Caller};
use cartwheel_store::{
    ChangeStock, CreateProduct, DeleteProduct, GetProduct, ReplaceProduct, StoreError,
};
use lambda_http::{
    http::{header, HeaderValue, StatusCode},
    Request,
};

async fn existing(store: &impl GetProduct, id: ProductId) -> Result<Product, ApiError> {
    store
        .get_product(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("product {id}")))
}

#[tracing::instrument(skip_all, fields(productId))]
pub async fn create_product(store: &impl CreateProduct, request: Request) -> ApiResult {
    Caller::admin(&request)?;
    let new: NewProduct = json_body(&request)?;
    let product = Product::create(ProductId::generate(), new, Timestamp::now());
    tracing::Span::current().record("productId", tracing::field::display(product.id));
    store.create_product(&product).await.map_err(store_error)?;
    let mut response = json(StatusCode::CREATED, &product)?;
    if let Ok(location) = HeaderValue::from_str(&format!("/products/{}", product.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[tracing::instrument(skip_all, fields(productId))]
pub async fn update_product(
    store: &(impl GetProduct + ReplaceProduct),
    request: Request,
) -> ApiResult {
    Caller::admin(&request)?;
    let id: ProductId = path_id(&request, "productId")?;
    let update: ProductUpdate = json_body(&request)?;
    let current = existing(store, id).await?;
    if current.version != update.version {
        return Err(store_error(StoreError::VersionConflict));
    }
    let next = current.updated(update, Timestamp::now());
    store
        .replace_product(&current, &next)
        .await
        .map_err(store_error)?;
    json(StatusCode::OK, &next)
}

#[tracing::instrument(skip_all, fields(productId))]
pub async fn delete_product(
    store: &(impl GetProduct + DeleteProduct),
    request: Request,
) -> ApiResult {
    Caller::admin(&request)?;
    let id: ProductId = path_id(&request, "productId")?;
    let current = existing(store, id).await?;
    store.delete_product(&current).await.map_err(store_error)?;
    no_content()
}

/// `PUT /products/{id}/stock` with `{quantity, version}` (the version read) or `{delta}`.
#[tracing::instrument(skip_all, fields(productId))]
pub async fn change_stock(store: &impl ChangeStock, request: Request) -> ApiResult {
    Caller::admin(&request)?;
    let id: ProductId = path_id(&request, "productId")?;
    let change: StockChange = json_body(&request)?;
    match store.change_stock(id, change, Timestamp::now()).await {
        Ok(product) => json(StatusCode::OK, &product),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("product {id}"))),
        Err(error) => Err(store_error(error)),
    }
}

#[cfg(test)]
mod tests;
