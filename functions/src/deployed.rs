//! Every function of template.yaml and the handler it runs: one typed static each, named after its
//! logical id. A binary in `src/bin` runs exactly one of them, so it links only that handler and the
//! clients its dependency type builds; the registry lists them all for the offline runtime.

use crate::{
    authorizer::{authorize, AuthorizerRequest, SimpleResponse},
    consumers::{
        audit, notify, order_updates, sales,
        stock_alerts::{self, AlertRecipient},
    },
    deps::PendingSweep,
    function::Function,
    handlers::{
        admin, cart, catalog, favourites, identity, notifications, orders, realtime, reports,
        reviews, system,
    },
    handoff::{self, HandoffError, SagaStarter, SweepReport},
    limits::{LoginLimits, OrderLimit, SignUpLimits},
    mail::Mailer,
    publish,
    push::Connections,
    saga::{self, SagaInput, StepResult},
    unreadable::UnreadableChanges,
};
use aws_lambda_events::{
    dynamodb,
    sqs::{SqsBatchResponse, SqsEvent},
    streams::DynamoDbEventResponse,
};
use cartwheel_domain::BreakerPolicy;
use cartwheel_events::Publisher;
use cartwheel_http::ApiResult;
use cartwheel_identity::TokenService;
use cartwheel_store::Store;
use lambda_http::Request;
use serde_json::Value;

/// An HTTP API route (payload format 2.0).
pub type HttpFunction<D> = Function<D, Request, ApiResult>;
/// The HTTP API's Lambda authorizer (simple responses).
pub type AuthorizerFunction<D> = Function<D, AuthorizerRequest, SimpleResponse<Value>>;
/// A step of the checkout saga, invoked by Step Functions.
pub type StepFunction<D> = Function<D, SagaInput, StepResult>;
/// An SQS queue's consumer (batches, partial batch failures).
pub type QueueFunction<D> = Function<D, SqsEvent, SqsBatchResponse>;
/// The table stream's consumer.
pub type StreamFunction<D> = Function<D, dynamodb::Event, DynamoDbEventResponse>;
/// Invoked on a schedule with the scheduled event.
pub type ScheduleFunction<D> = Function<D, Value, Result<SweepReport, HandoffError>>;

pub static AUTHORIZER: AuthorizerFunction<TokenService> = Function {
    name: "AuthorizerFunction",
    handle: |tokens, request| Box::pin(async move { authorize(&tokens, &request) }),
};

pub static ROUTE_NOT_FOUND: HttpFunction<()> = Function {
    name: "RouteNotFoundFunction",
    handle: |_, request| Box::pin(system::route_not_found(request)),
};

pub static HEALTH: HttpFunction<()> = Function {
    name: "HealthFunction",
    handle: |_, request| Box::pin(system::health(request)),
};

pub static LIST_PRODUCTS: HttpFunction<Store> = Function {
    name: "ListProductsFunction",
    handle: |store, r| Box::pin(async move { catalog::list_products(&*store, r).await }),
};

pub static GET_PRODUCT: HttpFunction<Store> = Function {
    name: "GetProductFunction",
    handle: |store, r| Box::pin(async move { catalog::get_product(&*store, r).await }),
};

pub static LIST_CATEGORIES: HttpFunction<Store> = Function {
    name: "ListCategoriesFunction",
    handle: |store, r| Box::pin(async move { catalog::list_categories(&*store, r).await }),
};

pub static CREATE_PRODUCT: HttpFunction<Store> = Function {
    name: "CreateProductFunction",
    handle: |store, r| Box::pin(async move { admin::create_product(&*store, r).await }),
};

pub static UPDATE_PRODUCT: HttpFunction<Store> = Function {
    name: "UpdateProductFunction",
    handle: |store, r| Box::pin(async move { admin::update_product(&*store, r).await }),
};

pub static DELETE_PRODUCT: HttpFunction<Store> = Function {
    name: "DeleteProductFunction",
    handle: |store, r| Box::pin(async move { admin::delete_product(&*store, r).await }),
};

pub static SET_STOCK: HttpFunction<Store> = Function {
    name: "SetStockFunction",
    handle: |store, r| Box::pin(async move { admin::change_stock(&*store, r).await }),
};

pub static SIGN_UP: HttpFunction<(Store, SignUpLimits)> = Function {
    name: "SignUpFunction",
    handle: |deps, r| Box::pin(async move { identity::sign_up(&deps.0, &deps.1, r).await }),
};

pub static LOGIN: HttpFunction<(Store, (TokenService, LoginLimits))> = Function {
    name: "LoginFunction",
    handle: |deps, r| {
        Box::pin(async move { identity::login(&deps.0, &deps.1 .0, &deps.1 .1, r).await })
    },
};

pub static GET_ME: HttpFunction<Store> = Function {
    name: "GetMeFunction",
    handle: |store, r| Box::pin(async move { identity::get_me(&*store, r).await }),
};

pub static GET_CART: HttpFunction<Store> = Function {
    name: "GetCartFunction",
    handle: |store, r| Box::pin(async move { cart::get_cart(&*store, r).await }),
};

pub static PUT_CART_ITEM: HttpFunction<Store> = Function {
    name: "PutCartItemFunction",
    handle: |store, r| Box::pin(async move { cart::put_item(&*store, r).await }),
};

pub static REMOVE_CART_ITEM: HttpFunction<Store> = Function {
    name: "RemoveCartItemFunction",
    handle: |store, r| Box::pin(async move { cart::remove_item(&*store, r).await }),
};

pub static PLACE_ORDER: HttpFunction<(Store, OrderLimit)> = Function {
    name: "PlaceOrderFunction",
    handle: |deps, r| Box::pin(async move { orders::place_order(&deps.0, &deps.1, r).await }),
};

pub static GET_ORDER: HttpFunction<Store> = Function {
    name: "GetOrderFunction",
    handle: |store, r| Box::pin(async move { orders::get_order(&*store, r).await }),
};

pub static LIST_ORDERS: HttpFunction<Store> = Function {
    name: "ListOrdersFunction",
    handle: |store, r| Box::pin(async move { orders::list_orders(&*store, r).await }),
};

pub static CANCEL_ORDER: HttpFunction<Store> = Function {
    name: "CancelOrderFunction",
    handle: |store, r| Box::pin(async move { orders::cancel_order(&*store, r).await }),
};

pub static SHIP_ORDER: HttpFunction<Store> = Function {
    name: "ShipOrderFunction",
    handle: |store, r| Box::pin(async move { orders::ship_order(&*store, r).await }),
};

pub static RESERVE_STOCK: StepFunction<Store> = Function {
    name: "ReserveStockFunction",
    handle: |store, input| Box::pin(async move { saga::reserve_stock(&*store, input).await }),
};

pub static AUTHORIZE_PAYMENT: StepFunction<(Store, BreakerPolicy)> = Function {
    name: "AuthorizePaymentFunction",
    handle: |deps, input| {
        Box::pin(async move { saga::authorize_payment(&deps.0, deps.1, input).await })
    },
};

pub static CONFIRM_ORDER: StepFunction<Store> = Function {
    name: "ConfirmOrderFunction",
    handle: |store, input| Box::pin(async move { saga::confirm_order(&*store, input).await }),
};

pub static CREATE_SHIPMENT: StepFunction<Store> = Function {
    name: "CreateShipmentFunction",
    handle: |store, input| Box::pin(async move { saga::create_shipment(&*store, input).await }),
};

pub static REFUND_PAYMENT: StepFunction<Store> = Function {
    name: "RefundPaymentFunction",
    handle: |store, input| Box::pin(async move { saga::refund_payment(&*store, input).await }),
};

pub static RELEASE_STOCK: StepFunction<Store> = Function {
    name: "ReleaseStockFunction",
    handle: |store, input| Box::pin(async move { saga::release_stock(&*store, input).await }),
};

pub static MARK_PAYMENT_FAILED: StepFunction<Store> = Function {
    name: "MarkPaymentFailedFunction",
    handle: |store, input| Box::pin(async move { saga::mark_payment_failed(&*store, input).await }),
};

pub static START_CHECKOUT: QueueFunction<(Store, SagaStarter)> = Function {
    name: "StartCheckoutFunction",
    handle: |deps, event| {
        Box::pin(async move { handoff::start_checkout(&deps.0, &deps.1, event).await })
    },
};

pub static SWEEP_PENDING_ORDERS: ScheduleFunction<(Store, PendingSweep)> = Function {
    name: "SweepPendingOrdersFunction",
    handle: |deps, _scheduled| {
        Box::pin(async move { handoff::sweep_pending_orders(&deps.0, &deps.1).await })
    },
};

pub static PUBLISH_EVENTS: StreamFunction<(Publisher, UnreadableChanges)> = Function {
    name: "PublishEventsFunction",
    handle: |deps, batch| {
        Box::pin(async move { publish::publish_events(&deps.0, &deps.1, batch).await })
    },
};

pub static AUDIT: QueueFunction<Store> = Function {
    name: "AuditFunction",
    handle: |store, batch| Box::pin(async move { audit::record_events(&*store, batch).await }),
};

pub static SALES_ANALYTICS: QueueFunction<Store> = Function {
    name: "SalesAnalyticsFunction",
    handle: |store, batch| Box::pin(async move { sales::record_sales(&*store, batch).await }),
};

pub static NOTIFY: QueueFunction<(Store, Mailer)> = Function {
    name: "NotifyFunction",
    handle: |deps, batch| {
        Box::pin(async move { notify::notify_customers(&deps.0, &deps.1, batch).await })
    },
};

pub static STOCK_ALERTS: QueueFunction<(Store, (Mailer, AlertRecipient))> = Function {
    name: "StockAlertsFunction",
    handle: |deps, batch| {
        Box::pin(async move { stock_alerts::record_stock_alerts(&deps.0, &deps.1, batch).await })
    },
};

pub static LIST_STOCK_ALERTS: HttpFunction<Store> = Function {
    name: "ListStockAlertsFunction",
    handle: |store, r| Box::pin(async move { reports::stock_alerts(&*store, r).await }),
};

pub static WS_CONNECT: HttpFunction<(Store, TokenService)> = Function {
    name: "WsConnectFunction",
    handle: |deps, r| Box::pin(async move { realtime::connect(&deps.0, &deps.1, r).await }),
};

pub static WS_DISCONNECT: HttpFunction<Store> = Function {
    name: "WsDisconnectFunction",
    handle: |store, r| Box::pin(async move { realtime::disconnect(&*store, r).await }),
};

pub static ORDER_UPDATES: QueueFunction<(Store, Connections)> = Function {
    name: "OrderUpdatesFunction",
    handle: |deps, batch| {
        Box::pin(async move { order_updates::push_order_updates(&deps.0, &deps.1, batch).await })
    },
};

pub static LIST_NOTIFICATIONS: HttpFunction<Store> = Function {
    name: "ListNotificationsFunction",
    handle: |store, r| Box::pin(async move { notifications::list_notifications(&*store, r).await }),
};

pub static READ_NOTIFICATION: HttpFunction<Store> = Function {
    name: "ReadNotificationFunction",
    handle: |store, r| Box::pin(async move { notifications::mark_read(&*store, r).await }),
};

pub static AUDIT_TRAIL: HttpFunction<Store> = Function {
    name: "AuditTrailFunction",
    handle: |store, r| Box::pin(async move { reports::audit_trail(&*store, r).await }),
};

pub static SALES_REPORT: HttpFunction<Store> = Function {
    name: "SalesReportFunction",
    handle: |store, r| Box::pin(async move { reports::sales_report(&*store, r).await }),
};

pub static LIST_FAVOURITES: HttpFunction<Store> = Function {
    name: "ListFavouritesFunction",
    handle: |store, r| Box::pin(async move { favourites::list_favourites(&*store, r).await }),
};

pub static ADD_FAVOURITE: HttpFunction<Store> = Function {
    name: "AddFavouriteFunction",
    handle: |store, r| Box::pin(async move { favourites::add_favourite(&*store, r).await }),
};

pub static REMOVE_FAVOURITE: HttpFunction<Store> = Function {
    name: "RemoveFavouriteFunction",
    handle: |store, r| Box::pin(async move { favourites::remove_favourite(&*store, r).await }),
};

pub static LIST_REVIEWS: HttpFunction<Store> = Function {
    name: "ListReviewsFunction",
    handle: |store, r| Box::pin(async move { reviews::list_reviews(&*store, r).await }),
};

pub static CREATE_REVIEW: HttpFunction<Store> = Function {
    name: "CreateReviewFunction",
    handle: |store, r| Box::pin(async move { reviews::create_review(&*store, r).await }),
};

pub static UPDATE_REVIEW: HttpFunction<Store> = Function {
    name: "UpdateReviewFunction",
    handle: |store, r| Box::pin(async move { reviews::update_review(&*store, r).await }),
};

pub static DELETE_REVIEW: HttpFunction<Store> = Function {
    name: "DeleteReviewFunction",
    handle: |store, r| Box::pin(async move { reviews::delete_review(&*store, r).await }),
};
