//! Product reviews: written only by a customer whose order of the product was confirmed, one per
//! customer and product, changed or deleted only by their author, listed newest first.

use super::{catalog::page_size, store_error};
use cartwheel_domain::{
    entitles_review, ProductId, Review, ReviewId, ReviewText, Timestamp, UserId,
};
use cartwheel_http::{
    cached_json, json, json_body, no_content, path_id, query_param, ApiError, ApiResult, Caller,
    Freshness,
};
use cartwheel_store::{
    AuthoredReview, CreateReview, DeleteReview, GetProduct, GetReview, ListOrders, ListReviews,
    ReviseReview, StoreError,
};
use lambda_http::{
    http::{header, HeaderValue, StatusCode},
    Request,
};

/// Reviews change rarely and are not part of any decision: a shared cache may keep them a minute.
const REVIEWS_FRESH: Freshness = Freshness {
    max_age_seconds: 60,
};

/// Orders read per page while looking for one that entitles the caller to a review.
const ORDERS_PER_PAGE: u16 = 100;

const NOT_A_BUYER: &str =
    "only a customer with a confirmed or shipped order of this product may review it";

/// 404 unless `product` is in the catalog.
async fn known_product(store: &impl GetProduct, product: ProductId) -> Result<(), ApiError> {
    match store.get_product(product).await.map_err(store_error)? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("product {product}"))),
    }
}

/// Whether `user` has an order of `product` that entitles them to review it (`entitles_review`).
async fn bought(
    store: &impl ListOrders,
    user: UserId,
    product: ProductId,
) -> Result<bool, ApiError> {
    let mut cursor = None;
    loop {
        let page = store
            .list_orders(user, ORDERS_PER_PAGE, cursor.as_deref())
            .await
            .map_err(store_error)?;
        let found = page.items.iter().any(|order| {
            entitles_review(order.status) && order.lines.iter().any(|l| l.product_id == product)
        });
        if found {
            return Ok(true);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(false),
        }
    }
}

/// `POST /products/{productId}/reviews`: 201 with the review; 403 without a qualifying order,
/// 409 for a second review of the same product.
#[tracing::instrument(skip_all, fields(productId))]
pub async fn create_review(
    store: &(impl GetProduct + ListOrders + CreateReview),
    request: Request,
) -> ApiResult {
    let user = Caller::of(&request)?.user_id;
    let product: ProductId = path_id(&request, "productId")?;
    tracing::Span::current().record("productId", tracing::field::display(product));
    let text: ReviewText = json_body(&request)?;
    known_product(store, product).await?;
    if !bought(store, user, product).await? {
        return Err(ApiError::NotEntitled(NOT_A_BUYER));
    }
    let now = Timestamp::now();
    let review = AuthoredReview {
        author_id: user,
        review: Review {
            id: ReviewId::generate(),
            product_id: product,
            rating: text.rating,
            title: text.title,
            body: text.body,
            created_at: now,
            updated_at: now,
        },
    };
    match store.create_review(&review).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::NotFound(format!("product {product}"))),
        Err(error) => return Err(store_error(error)),
    }
    let mut response = json(StatusCode::CREATED, &review.review)?;
    let location = format!("/products/{product}/reviews/{}", review.review.id);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The caller's own review at the request's path; anyone else's is 404, as if it did not exist.
async fn own_review(store: &impl GetReview, request: &Request) -> Result<AuthoredReview, ApiError> {
    let user = Caller::of(request)?.user_id;
    let product: ProductId = path_id(request, "productId")?;
    let id: ReviewId = path_id(request, "reviewId")?;
    match store.get_review(product, id).await.map_err(store_error)? {
        Some(review) if review.author_id == user => Ok(review),
        _ => Err(ApiError::NotFound(format!("review {id} of yours"))),
    }
}

fn changed(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::NotFound("the review's product".into()),
        StoreError::VersionConflict => {
            ApiError::Conflict("the review changed at the same time; read it and try again".into())
        }
        error => store_error(error),
    }
}

/// `PUT /products/{productId}/reviews/{reviewId}`: 200 with the rewritten review.
#[tracing::instrument(skip_all)]
pub async fn update_review(store: &(impl GetReview + ReviseReview), request: Request) -> ApiResult {
    let current = own_review(store, &request).await?;
    let text: ReviewText = json_body(&request)?;
    let next = AuthoredReview {
        author_id: current.author_id,
        review: Review {
            rating: text.rating,
            title: text.title,
            body: text.body,
            updated_at: Timestamp::now(),
            ..current.review.clone()
        },
    };
    store
        .revise_review(&current, &next)
        .await
        .map_err(changed)?;
    json(StatusCode::OK, &next.review)
}

/// `DELETE /products/{productId}/reviews/{reviewId}`: 204.
#[tracing::instrument(skip_all)]
pub async fn delete_review(store: &(impl GetReview + DeleteReview), request: Request) -> ApiResult {
    let current = own_review(store, &request).await?;
    store.delete_review(&current).await.map_err(changed)?;
    no_content()
}

/// `GET /products/{productId}/reviews`: newest first; 404 for an unknown product.
#[tracing::instrument(skip_all, fields(productId))]
pub async fn list_reviews(store: &(impl GetProduct + ListReviews), request: Request) -> ApiResult {
    let product: ProductId = path_id(&request, "productId")?;
    tracing::Span::current().record("productId", tracing::field::display(product));
    let limit = page_size(&request)?;
    let cursor = query_param(&request, "cursor");
    known_product(store, product).await?;
    let page = store
        .list_reviews(product, limit, cursor.as_deref())
        .await
        .map_err(store_error)?;
    cached_json(&request, REVIEWS_FRESH, &page)
}

#[cfg(test)]
mod tests;
