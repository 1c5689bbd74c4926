//! Accounts, favourites and reviews in memory.

use super::{injected, FakeStore};
use cartwheel_domain::{Email, ProductId, Review, ReviewId, Timestamp, User, UserId};
use cartwheel_store::{
    AddFavourite, Added, AuthoredReview, CreateReview, CreateUser, Credentials, DeleteReview,
    Favourite, FindCredentials, GetReview, GetUser, ListFavourites, ListReviews, RemoveFavourite,
    ReviewPage, ReviseReview, StoreError, MAX_FAVOURITES,
};

impl FakeStore {
    pub fn user_by_email(&self, email: &str) -> Option<Credentials> {
        let users = self.users.lock().unwrap();
        users
            .iter()
            .find(|c| c.user.email.as_str() == email)
            .cloned()
    }

    fn known(&self, product: ProductId) -> Result<(), StoreError> {
        self.product(product)
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    /// The stored review, if it is still exactly `current`: the conditional write of a revision
    /// or a deletion.
    fn unchanged(&self, current: &AuthoredReview) -> Result<usize, StoreError> {
        self.known(current.review.product_id)?;
        let reviews = self.reviews.lock().unwrap();
        reviews
            .iter()
            .position(|r| r == current)
            .ok_or(StoreError::VersionConflict)
    }
}

impl CreateUser for FakeStore {
    async fn create_user(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        self.call("create_user")?;
        if self.user_by_email(user.email.as_str()).is_some() {
            return Err(StoreError::EmailTaken);
        }
        self.users.lock().unwrap().push(Credentials {
            user: user.clone(),
            password_hash: password_hash.to_owned(),
        });
        Ok(())
    }
}

impl GetUser for FakeStore {
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.call("get_user")?;
        let users = self.users.lock().unwrap();
        Ok(users
            .iter()
            .find(|c| c.user.id == id)
            .map(|c| c.user.clone()))
    }
}

impl FindCredentials for FakeStore {
    async fn find_credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        if self.fail_credential_reads {
            return Err(injected());
        }
        self.call("find_credentials")?;
        Ok(self.user_by_email(email.as_str()))
    }
}

impl AddFavourite for FakeStore {
    async fn add_favourite(&self, user: UserId, product: ProductId) -> Result<Added, StoreError> {
        self.call("add_favourite")?;
        self.known(product)?;
        let mut favourites = self.favourites.lock().unwrap();
        let theirs = favourites.entry(user).or_default();
        if theirs.iter().any(|f| f.product_id == product) {
            return Ok(Added::Already);
        }
        if theirs.len() as i64 >= MAX_FAVOURITES {
            return Err(StoreError::LimitReached(MAX_FAVOURITES));
        }
        let added_at = Timestamp::now();
        theirs.push(Favourite {
            product_id: product,
            added_at,
        });
        Ok(Added::Now)
    }
}

impl RemoveFavourite for FakeStore {
    async fn remove_favourite(&self, user: UserId, product: ProductId) -> Result<(), StoreError> {
        self.call("remove_favourite")?;
        let mut favourites = self.favourites.lock().unwrap();
        if let Some(theirs) = favourites.get_mut(&user) {
            theirs.retain(|f| f.product_id != product);
        }
        Ok(())
    }
}

impl ListFavourites for FakeStore {
    async fn list_favourites(&self, user: UserId) -> Result<Vec<Favourite>, StoreError> {
        self.call("list_favourites")?;
        let favourites = self.favourites.lock().unwrap();
        Ok(favourites.get(&user).cloned().unwrap_or_default())
    }
}

impl CreateReview for FakeStore {
    async fn create_review(&self, review: &AuthoredReview) -> Result<(), StoreError> {
        self.call("create_review")?;
        self.known(review.review.product_id)?;
        let mut reviews = self.reviews.lock().unwrap();
        let same = |r: &&AuthoredReview| {
            r.author_id == review.author_id && r.review.product_id == review.review.product_id
        };
        if reviews.iter().any(|r| same(&r)) {
            return Err(StoreError::AlreadyReviewed);
        }
        reviews.push(review.clone());
        Ok(())
    }
}

impl GetReview for FakeStore {
    async fn get_review(
        &self,
        product: ProductId,
        id: ReviewId,
    ) -> Result<Option<AuthoredReview>, StoreError> {
        self.call("get_review")?;
        let reviews = self.reviews.lock().unwrap();
        let found = reviews
            .iter()
            .find(|r| r.review.product_id == product && r.review.id == id);
        Ok(found.cloned())
    }
}

impl ReviseReview for FakeStore {
    async fn revise_review(
        &self,
        current: &AuthoredReview,
        next: &AuthoredReview,
    ) -> Result<(), StoreError> {
        self.call("revise_review")?;
        let at = self.unchanged(current)?;
        self.reviews.lock().unwrap()[at] = next.clone();
        Ok(())
    }
}

impl DeleteReview for FakeStore {
    /// As the store: a review whose product is gone is still deleted, with no totals to update.
    async fn delete_review(&self, current: &AuthoredReview) -> Result<(), StoreError> {
        self.call("delete_review")?;
        let mut reviews = self.reviews.lock().unwrap();
        let at = reviews.iter().position(|r| r == current);
        reviews.remove(at.ok_or(StoreError::VersionConflict)?);
        Ok(())
    }
}

impl ListReviews for FakeStore {
    async fn list_reviews(
        &self,
        product: ProductId,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<ReviewPage, StoreError> {
        self.call("list_reviews")?;
        let mut items: Vec<Review> = self
            .reviews
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.review.product_id == product)
            .map(|r| r.review.clone())
            .collect();
        items.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        let (items, next_cursor) = super::page(items, limit, cursor)?;
        Ok(ReviewPage { items, next_cursor })
    }
}
