//! Public catalog reads.

use super::store_error;
use cartwheel_domain::{Category, ProductId};
use cartwheel_http::{cached_json, path_id, query_param, ApiError, ApiResult, Freshness};
use cartwheel_store::{GetProduct, ListCategories, ListProducts, PriceRange, ProductQuery};
use lambda_http::Request;
use serde_json::json;

pub const DEFAULT_PAGE_SIZE: u16 = 20;
pub const MAX_PAGE_SIZE: u16 = 100;
/// Products and their listings carry price and stock, which admins and orders change: a shared
/// cache may keep them ten seconds. An order never trusts a cached read; its reservation checks
/// the stock in the table.
const PRODUCTS_FRESH: Freshness = Freshness {
    max_age_seconds: 10,
};
/// Categories change only when a product is created or deleted.
const CATEGORIES_FRESH: Freshness = Freshness {
    max_age_seconds: 60,
};

pub(crate) fn parse_query<T>(
    request: &Request,
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    query_param(request, name)
        .map(|raw| parse(&raw).map_err(|message| ApiError::InvalidQueryParameter { name, message }))
        .transpose()
}

fn price(raw: &str) -> Result<i64, String> {
    raw.parse::<i64>()
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| "must be a whole, non-negative number of minor units".to_owned())
}

/// The `limit` query parameter of a listing: 1 to 100, 20 when absent.
pub(crate) fn page_size(request: &Request) -> Result<u16, ApiError> {
    let limit = parse_query(request, "limit", |raw| {
        raw.parse::<u16>()
            .ok()
            .filter(|l| (1..=MAX_PAGE_SIZE).contains(l))
            .ok_or_else(|| format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"))
    })?;
    Ok(limit.unwrap_or(DEFAULT_PAGE_SIZE))
}

fn product_query(request: &Request) -> Result<ProductQuery, ApiError> {
    let limit = page_size(request)?;
    let category = parse_query(request, "category", |raw| {
        Category::parse(raw).map_err(|e| e.0)
    })?;
    let text = parse_query(request, "q", |raw| {
        let text = raw.trim().to_lowercase();
        if (1..=100).contains(&text.chars().count()) {
            Ok(text)
        } else {
            Err("must be 1 to 100 characters".to_owned())
        }
    })?;
    let min = parse_query(request, "minPrice", price)?;
    let max = parse_query(request, "maxPrice", price)?;
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(ApiError::InvalidQueryParameter {
                name: "maxPrice",
                message: "must not be below minPrice".into(),
            });
        }
    }
    let cursor = parse_query(request, "cursor", |raw| {
        if raw.len() <= 1024 {
            Ok(raw.to_owned())
        } else {
            Err("is too long to be a cursor".to_owned())
        }
    })?;
    Ok(ProductQuery {
        category,
        text,
        price: PriceRange { min, max },
        limit,
        cursor,
    })
}

#[tracing::instrument(skip_all)]
pub async fn list_products(store: &impl ListProducts, request: Request) -> ApiResult {
    let query = product_query(&request)?;
    let page = store.list_products(&query).await.map_err(store_error)?;
    cached_json(&request, PRODUCTS_FRESH, &page)
}

#[tracing::instrument(skip_all, fields(productId))]
pub async fn get_product(store: &impl GetProduct, request: Request) -> ApiResult {
    let id: ProductId = path_id(&request, "productId")?;
    match store.get_product(id).await.map_err(store_error)? {
        Some(product) => cached_json(&request, PRODUCTS_FRESH, &product),
        None => Err(ApiError::NotFound(format!("product {id}"))),
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_categories(store: &impl ListCategories, request: Request) -> ApiResult {
    let categories = store.list_categories().await.map_err(store_error)?;
    cached_json(&request, CATEGORIES_FRESH, &json!({ "items": categories }))
}

#[cfg(test)]
mod tests;
