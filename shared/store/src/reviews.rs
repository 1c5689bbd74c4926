//! Reviews, and the rating totals on their product, always changed in one transaction: the totals
//! stay exact however many customers review one product at once.

use crate::{
    keys,
    records::record_item,
    transaction::{self, key, n, put_new, s, Item},
    CreateReview, DeleteReview, GetReview, ListReviews, ReviseReview, Store, StoreError,
};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use cartwheel_domain::{ProductId, Review, ReviewId, UserId};
use serde::{Deserialize, Serialize};

/// A review with the customer who wrote it, whom the API never shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthoredReview {
    pub author_id: UserId,
    #[serde(flatten)]
    pub review: Review,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewPage {
    pub items: Vec<Review>,
    pub next_cursor: Option<String>,
}

/// Moves the product's totals; its condition keeps a deleted product from coming back as a stub.
fn totals(
    table: &str,
    product: ProductId,
    count_by: i64,
    sum_by: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::product(product))))
        .update_expression("ADD ratingCount :count, ratingSum :sum")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":count", n(count_by))
        .expression_attribute_values(":sum", n(sum_by));
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

fn review_item(review: &AuthoredReview) -> Result<Item, StoreError> {
    record_item(
        keys::review(review.review.product_id, review.review.id),
        review.clone(),
    )
}

/// The review's own write, on condition that it is still as `current` was read.
fn unchanged_since(
    current: &AuthoredReview,
) -> (&'static str, [(&'static str, AttributeValue); 2]) {
    (
        "authorId = :author AND rating = :was",
        [
            (":author", s(current.author_id.to_string())),
            (":was", n(current.review.rating.stars())),
        ],
    )
}

impl CreateReview for Store {
    #[tracing::instrument(skip_all, fields(productId = %review.review.product_id))]
    async fn create_review(&self, review: &AuthoredReview) -> Result<(), StoreError> {
        let product = review.review.product_id;
        let mut guard = key(keys::reviewer(product, review.author_id));
        guard.insert("reviewId".into(), s(review.review.id.to_string()));
        let items = vec![
            put_new(&self.table, review_item(review)?)?,
            put_new(&self.table, guard)?,
            totals(&self.table, product, 1, review.review.rating.stars())?,
        ];
        match transaction::settle(&self.client, items).await? {
            None => Ok(()),
            Some(cancelled) if cancelled.failed(1) => Err(StoreError::AlreadyReviewed),
            Some(cancelled) if cancelled.failed(2) => Err(StoreError::NotFound),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl ReviseReview for Store {
    #[tracing::instrument(skip_all, fields(reviewId = %current.review.id))]
    async fn revise_review(
        &self,
        current: &AuthoredReview,
        next: &AuthoredReview,
    ) -> Result<(), StoreError> {
        let (condition, values) = unchanged_since(current);
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(review_item(next)?))
            .condition_expression(condition);
        for (name, value) in values {
            put = put.expression_attribute_values(name, value);
        }
        let delta = next.review.rating.stars() - current.review.rating.stars();
        let items = vec![
            TransactWriteItem::builder().put(put.build()?).build(),
            totals(&self.table, current.review.product_id, 0, delta)?,
        ];
        self.settle_change(items).await
    }
}

impl DeleteReview for Store {
    #[tracing::instrument(skip_all, fields(reviewId = %current.review.id))]
    async fn delete_review(&self, current: &AuthoredReview) -> Result<(), StoreError> {
        let product = current.review.product_id;
        let (condition, values) = unchanged_since(current);
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::review(product, current.review.id))))
            .condition_expression(condition);
        for (name, value) in values {
            delete = delete.expression_attribute_values(name, value);
        }
        let guard = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::reviewer(product, current.author_id))));
        let stars = current.review.rating.stars();
        let mut items = vec![
            TransactWriteItem::builder().delete(delete.build()?).build(),
            TransactWriteItem::builder().delete(guard.build()?).build(),
            totals(&self.table, product, -1, -stars)?,
        ];
        match self.settle_change(items.clone()).await {
            // The product is gone: there are no totals to take the review out of.
            Err(StoreError::NotFound) => {
                items.pop();
                self.settle_change(items).await
            }
            outcome => outcome,
        }
    }
}

impl Store {
    /// A change to a review read before: `VersionConflict` if it changed since, `NotFound` if its
    /// product is gone (the last item, the totals' update, failed).
    async fn settle_change(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let last = items.len() - 1;
        match transaction::settle(&self.client, items).await? {
            None => Ok(()),
            Some(cancelled) if cancelled.failed(0) => Err(StoreError::VersionConflict),
            Some(cancelled) if cancelled.failed(last) => Err(StoreError::NotFound),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl GetReview for Store {
    #[tracing::instrument(skip_all, fields(reviewId = %id))]
    async fn get_review(
        &self,
        product: ProductId,
        id: ReviewId,
    ) -> Result<Option<AuthoredReview>, StoreError> {
        self.read_record(keys::review(product, id)).await
    }
}

impl ListReviews for Store {
    #[tracing::instrument(skip_all, fields(productId = %product))]
    async fn list_reviews(
        &self,
        product: ProductId,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<ReviewPage, StoreError> {
        let partition = keys::product_partition(product);
        let (reviews, next_cursor) = self
            .newest_first::<AuthoredReview>(&partition, keys::REVIEW_PREFIX, limit, cursor)
            .await?;
        let items = reviews.into_iter().map(|r| r.review).collect();
        Ok(ReviewPage { items, next_cursor })
    }
}
