//! Product reviews: writing, revising, deleting and listing them.

use crate::{AuthoredReview, ReviewPage, StoreError};
use cartwheel_domain::{ProductId, ReviewId};
use std::future::Future;

pub trait CreateReview {
    /// Stores a new review and adds it to its product's totals, in one transaction.
    /// `AlreadyReviewed` if its author reviewed the product before; `NotFound` without the product.
    fn create_review(
        &self,
        review: &AuthoredReview,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait GetReview {
    fn get_review(
        &self,
        product: ProductId,
        id: ReviewId,
    ) -> impl Future<Output = Result<Option<AuthoredReview>, StoreError>> + Send;
}

pub trait ReviseReview {
    /// Replaces `current` with `next` and moves the product's sum by the difference in stars.
    /// `VersionConflict` if the review changed since `current` was read.
    fn revise_review(
        &self,
        current: &AuthoredReview,
        next: &AuthoredReview,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait DeleteReview {
    /// Removes `current` and takes it out of the product's totals.
    /// `VersionConflict` if the review changed since `current` was read.
    fn delete_review(
        &self,
        current: &AuthoredReview,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListReviews {
    /// A product's reviews, newest first.
    fn list_reviews(
        &self,
        product: ProductId,
        limit: u16,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<ReviewPage, StoreError>> + Send;
}
