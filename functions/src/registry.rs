//! Function (template.yaml logical id) → handler. The Lambda binaries and the offline runtime both
//! look handlers up here; a test checks it against template.yaml in both directions.

use crate::{
    handlers::*,
    handoff::{self, HandoffError, SweepReport},
    publish,
    saga::{self, SagaInput, StepError},
    App,
};
use aws_lambda_events::{
    dynamodb,
    sqs::{SqsBatchResponse, SqsEvent},
    streams::DynamoDbEventResponse,
};
use cartwheel_http::ApiResult;
use lambda_http::Request;
use std::{future::Future, pin::Pin, sync::Arc};

pub type HttpFuture = Pin<Box<dyn Future<Output = ApiResult> + Send>>;
pub type HttpHandler = fn(Arc<App>, Request) -> HttpFuture;
pub type StepFuture = Pin<Box<dyn Future<Output = Result<SagaInput, StepError>> + Send>>;
pub type StepHandler = fn(Arc<App>, SagaInput) -> StepFuture;
pub type QueueFuture = Pin<Box<dyn Future<Output = SqsBatchResponse> + Send>>;
pub type QueueHandler = fn(Arc<App>, SqsEvent) -> QueueFuture;
pub type StreamFuture = Pin<Box<dyn Future<Output = DynamoDbEventResponse> + Send>>;
pub type StreamHandler = fn(Arc<App>, dynamodb::Event) -> StreamFuture;
pub type ScheduleFuture = Pin<Box<dyn Future<Output = Result<SweepReport, HandoffError>> + Send>>;
pub type ScheduleHandler = fn(Arc<App>) -> ScheduleFuture;

#[derive(Clone, Copy)]
pub enum Handler {
    /// An HTTP API route (payload format 2.0).
    Http(HttpHandler),
    /// The HTTP API's Lambda authorizer (simple responses).
    Authorizer,
    /// A step of the checkout saga, invoked by Step Functions.
    Step(StepHandler),
    /// An SQS queue's consumer (batches, partial batch failures).
    Queue(QueueHandler),
    /// The table stream's consumer.
    Stream(StreamHandler),
    /// Invoked on a schedule.
    Schedule(ScheduleHandler),
}

pub fn all() -> Vec<(&'static str, Handler)> {
    use Handler::{Authorizer, Http, Queue, Schedule, Step, Stream};
    vec![
        ("AuthorizerFunction", Authorizer),
        (
            "RouteNotFoundFunction",
            Http(|_, r| Box::pin(system::route_not_found(r))),
        ),
        ("HealthFunction", Http(|_, r| Box::pin(system::health(r)))),
        (
            "ListProductsFunction",
            Http(|a, r| Box::pin(async move { catalog::list_products(&a.store, r).await })),
        ),
        (
            "GetProductFunction",
            Http(|a, r| Box::pin(async move { catalog::get_product(&a.store, r).await })),
        ),
        (
            "ListCategoriesFunction",
            Http(|a, r| Box::pin(async move { catalog::list_categories(&a.store, r).await })),
        ),
        (
            "CreateProductFunction",
            Http(|a, r| Box::pin(async move { admin::create_product(&a.store, r).await })),
        ),
        (
            "UpdateProductFunction",
            Http(|a, r| Box::pin(async move { admin::update_product(&a.store, r).await })),
        ),
        (
            "DeleteProductFunction",
            Http(|a, r| Box::pin(async move { admin::delete_product(&a.store, r).await })),
        ),
        (
            "SetStockFunction",
            Http(|a, r| Box::pin(async move { admin::set_stock(&a.store, r).await })),
        ),
        (
            "SignUpFunction",
            Http(|a, r| Box::pin(async move { identity::sign_up(&a.store, r).await })),
        ),
        (
            "LoginFunction",
            Http(|a, r| Box::pin(async move { identity::login(&a, r).await })),
        ),
        (
            "GetMeFunction",
            Http(|a, r| Box::pin(async move { identity::get_me(&a.store, r).await })),
        ),
        (
            "GetCartFunction",
            Http(|a, r| Box::pin(async move { cart::get_cart(&a.store, r).await })),
        ),
        (
            "PutCartItemFunction",
            Http(|a, r| Box::pin(async move { cart::put_item(&a.store, r).await })),
        ),
        (
            "RemoveCartItemFunction",
            Http(|a, r| Box::pin(async move { cart::remove_item(&a.store, r).await })),
        ),
        (
            "PlaceOrderFunction",
            Http(|a, r| Box::pin(async move { orders::place_order(&a.store, r).await })),
        ),
        (
            "GetOrderFunction",
            Http(|a, r| Box::pin(async move { orders::get_order(&a.store, r).await })),
        ),
        (
            "ListOrdersFunction",
            Http(|a, r| Box::pin(async move { orders::list_orders(&a.store, r).await })),
        ),
        (
            "CancelOrderFunction",
            Http(|a, r| Box::pin(async move { orders::cancel_order(&a.store, r).await })),
        ),
        (
            "ShipOrderFunction",
            Http(|a, r| Box::pin(async move { orders::ship_order(&a.store, r).await })),
        ),
        (
            "ReserveStockFunction",
            Step(|a, i| Box::pin(async move { saga::reserve_stock(&a.store, i).await })),
        ),
        (
            "AuthorizePaymentFunction",
            Step(|a, i| Box::pin(async move { saga::authorize_payment(&a.store, i).await })),
        ),
        (
            "ConfirmOrderFunction",
            Step(|a, i| Box::pin(async move { saga::confirm_order(&a.store, i).await })),
        ),
        (
            "CreateShipmentFunction",
            Step(|a, i| Box::pin(async move { saga::create_shipment(&a.store, i).await })),
        ),
        (
            "RefundPaymentFunction",
            Step(|a, i| Box::pin(async move { saga::refund_payment(&a.store, i).await })),
        ),
        (
            "ReleaseStockFunction",
            Step(|a, i| Box::pin(async move { saga::release_stock(&a.store, i).await })),
        ),
        (
            "MarkPaymentFailedFunction",
            Step(|a, i| Box::pin(async move { saga::mark_payment_failed(&a.store, i).await })),
        ),
        (
            "StartCheckoutFunction",
            Queue(|a, e| Box::pin(async move { handoff::start_checkout(&a, e).await })),
        ),
        (
            "SweepPendingOrdersFunction",
            Schedule(|a| Box::pin(async move { handoff::sweep_pending_orders(&a).await })),
        ),
        (
            "PublishEventsFunction",
            Stream(|a, e| {
                Box::pin(async move {
                    match a.publisher() {
                        Ok(publisher) => publish::publish_events(publisher, e).await,
                        Err(error) => publish::reject_all(&error, &e),
                    }
                })
            }),
        ),
    ]
}

pub fn handler(function: &str) -> Option<Handler> {
    all()
        .into_iter()
        .find(|(name, _)| *name == function)
        .map(|(_, handler)| handler)
}
