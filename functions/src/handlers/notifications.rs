//! The caller's notifications: listed newest first with the unread count, and marked read.

use super::{catalog::page_size, store_error};
use cartwheel_domain::NotificationId;
use cartwheel_http::{json, no_content, path_id, query_param, ApiError, ApiResult, Caller};
use cartwheel_store::{ListNotifications, MarkRead, StoreError};
use lambda_http::{http::StatusCode, Request};

/// `GET /notifications?limit&cursor`: 200 `{items, unread, nextCursor}`.
#[tracing::instrument(skip_all)]
pub async fn list_notifications(store: &impl ListNotifications, request: Request) -> ApiResult {
    let user = Caller::of(&request)?.user_id;
    let limit = page_size(&request)?;
    let cursor = query_param(&request, "cursor");
    let page = store
        .list_notifications(user, limit, cursor.as_deref())
        .await
        .map_err(store_error)?;
    json(StatusCode::OK, &page)
}

/// `POST /notifications/{notificationId}/read`: 204, also when it was read already; another
/// customer's notification is 404, as it is not in the caller's partition.
#[tracing::instrument(skip_all, fields(notificationId))]
pub async fn mark_read(store: &impl MarkRead, request: Request) -> ApiResult {
    let user = Caller::of(&request)?.user_id;
    let id: NotificationId = path_id(&request, "notificationId")?;
    tracing::Span::current().record("notificationId", tracing::field::display(id));
    match store.mark_read(user, id).await {
        Ok(()) => no_content(),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("notification {id}"))),
        Err(error) => Err(store_error(error)),
    }
}

#[cfg(test)]
mod tests;
