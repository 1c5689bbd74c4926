//! Every function of template.yaml, declared once: its logical id, the kind of event it takes, its
//! dependency type and its handler. `functions!` makes of each line a typed static named after
//! the function (a binary in `src/bin` runs exactly one, so it links only that handler and the
//! clients its dependencies build) and its entry in `all()`, which the offline runtime
//! instantiates: a function cannot be deployed and missing from the runtime, or the reverse.

use crate::{
    authorizer::authorize,
    consumers::{
        audit, notify, order_updates, sales,
        stock_alerts::{self, AlertRecipient},
    },
    function::Function,
    handlers::{
        admin, cart, catalog, favourites, identity, notifications, orders, realtime, reports,
        reviews, system,
    },
    handoff::PendingSweep,
    handoff::{self, SagaStarter},
    limits::{LoginLimits, OrderLimit, SignUpLimits},
    mail::Mailer,
    publish,
    push::Connections,
    registry::{self, Handler},
    saga,
    unreadable::UnreadableChanges,
};
use cartwheel_domain::BreakerPolicy;
use cartwheel_events::Publisher;
use cartwheel_identity::TokenService;
use cartwheel_store::Store;

/// `Kind STATIC: Dependencies = "LogicalId", handler;` for each function, `Kind` one of
/// `registry::Handler`'s variants (the event it takes).
macro_rules! functions {
    ($($kind:ident $static:ident: $deps:ty = $name:literal, $handle:expr;)*) => {
        $(pub static $static: registry::$kind<$deps> = Function { name: $name, handle: $handle };)*

        /// How many functions template.yaml deploys.
        pub const COUNT: usize = [$($name),*].len();

        /// Every function, in the order of the table.
        pub fn all() -> [Handler; COUNT] {
            [$(Handler::$kind(&$static)),*]
        }

        /// Each static's name with the logical id of its function (`GET_PRODUCT`,
        /// `GetProductFunction`): what a binary names, and what template.yaml deploys.
        pub const STATICS: [(&str, &str); COUNT] = [$((stringify!($static), $name)),*];
    };
}

/// The function with this logical id.
pub fn handler(logical_id: &str) -> Option<Handler> {
    all().into_iter().find(|h| h.name() == logical_id)
}

functions! {
    Authorizer AUTHORIZER: TokenService = "AuthorizerFunction",
        |tokens, request| Box::pin(async move { authorize(&tokens, &request) });
    Http ROUTE_NOT_FOUND: () = "RouteNotFoundFunction",
        |_, request| Box::pin(system::route_not_found(request));
    Http HEALTH: () = "HealthFunction",
        |_, request| Box::pin(system::health(request));
    Http LIST_PRODUCTS: Store = "ListProductsFunction",
        |store, r| Box::pin(async move { catalog::list_products(&*store, r).await });
    Http GET_PRODUCT: Store = "GetProductFunction",
        |store, r| Box::pin(async move { catalog::get_product(&*store, r).await });
    Http LIST_CATEGORIES: Store = "ListCategoriesFunction",
        |store, r| Box::pin(async move { catalog::list_categories(&*store, r).await });
    Http CREATE_PRODUCT: Store = "CreateProductFunction",
        |store, r| Box::pin(async move { admin::create_product(&*store, r).await });
    Http UPDATE_PRODUCT: Store = "UpdateProductFunction",
        |store, r| Box::pin(async move { admin::update_product(&*store, r).await });
    Http DELETE_PRODUCT: Store = "DeleteProductFunction",
        |store, r| Box::pin(async move { admin::delete_product(&*store, r).await });
    Http SET_STOCK: Store = "SetStockFunction",
        |store, r| Box::pin(async move { admin::change_stock(&*store, r).await });
    Http SIGN_UP: (Store, SignUpLimits) = "SignUpFunction",
        |deps, r| Box::pin(async move { identity::sign_up(&deps.0, &deps.1, r).await });
    Http LOGIN: (Store, (TokenService, LoginLimits)) = "LoginFunction",
        |deps, r| Box::pin(async move { identity::login(&deps.0, &deps.1 .0, &deps.1 .1, r).await });
    Http GET_ME: Store = "GetMeFunction",
        |store, r| Box::pin(async move { identity::get_me(&*store, r).await });
    Http GET_CART: Store = "GetCartFunction",
        |store, r| Box::pin(async move { cart::get_cart(&*store, r).await });
    Http PUT_CART_ITEM: Store = "PutCartItemFunction",
        |store, r| Box::pin(async move { cart::put_item(&*store, r).await });
    Http REMOVE_CART_ITEM: Store = "RemoveCartItemFunction",
        |store, r| Box::pin(async move { cart::remove_item(&*store, r).await });
    Http PLACE_ORDER: (Store, OrderLimit) = "PlaceOrderFunction",
        |deps, r| Box::pin(async move { orders::place_order(&deps.0, &deps.1, r).await });
    Http GET_ORDER: Store = "GetOrderFunction",
        |store, r| Box::pin(async move { orders::get_order(&*store, r).await });
    Http LIST_ORDERS: Store = "ListOrdersFunction",
        |store, r| Box::pin(async move { orders::list_orders(&*store, r).await });
    Http CANCEL_ORDER: Store = "CancelOrderFunction",
        |store, r| Box::pin(async move { orders::cancel_order(&*store, r).await });
    Http SHIP_ORDER: Store = "ShipOrderFunction",
        |store, r| Box::pin(async move { orders::ship_order(&*store, r).await });
    Http AUDIT_TRAIL: Store = "AuditTrailFunction",
        |store, r| Box::pin(async move { reports::audit_trail(&*store, r).await });
    Http SALES_REPORT: Store = "SalesReportFunction",
        |store, r| Box::pin(async move { reports::sales_report(&*store, r).await });
    Http LIST_FAVOURITES: Store = "ListFavouritesFunction",
        |store, r| Box::pin(async move { favourites::list_favourites(&*store, r).await });
    Http ADD_FAVOURITE: Store = "AddFavouriteFunction",
        |store, r| Box::pin(async move { favourites::add_favourite(&*store, r).await });
    Http REMOVE_FAVOURITE: Store = "RemoveFavouriteFunction",
        |store, r| Box::pin(async move { favourites::remove_favourite(&*store, r).await });
    Http LIST_REVIEWS: Store = "ListReviewsFunction",
        |store, r| Box::pin(async move { reviews::list_reviews(&*store, r).await });
    Http CREATE_REVIEW: Store = "CreateReviewFunction",
        |store, r| Box::pin(async move { reviews::create_review(&*store, r).await });
    Http UPDATE_REVIEW: Store = "UpdateReviewFunction",
        |store, r| Box::pin(async move { reviews::update_review(&*store, r).await });
    Http DELETE_REVIEW: Store = "DeleteReviewFunction",
        |store, r| Box::pin(async move { reviews::delete_review(&*store, r).await });
    Http LIST_NOTIFICATIONS: Store = "ListNotificationsFunction",
        |store, r| Box::pin(async move { notifications::list_notifications(&*store, r).await });
    Http READ_NOTIFICATION: Store = "ReadNotificationFunction",
        |store, r| Box::pin(async move { notifications::mark_read(&*store, r).await });
    Http LIST_STOCK_ALERTS: Store = "ListStockAlertsFunction",
        |store, r| Box::pin(async move { reports::stock_alerts(&*store, r).await });
    Http WS_CONNECT: (Store, TokenService) = "WsConnectFunction",
        |deps, r| Box::pin(async move { realtime::connect(&deps.0, &deps.1, r).await });
    Http WS_DISCONNECT: Store = "WsDisconnectFunction",
        |store, r| Box::pin(async move { realtime::disconnect(&*store, r).await });
    Step RESERVE_STOCK: Store = "ReserveStockFunction",
        |store, input| Box::pin(async move { saga::reserve_stock(&*store, input).await });
    Step AUTHORIZE_PAYMENT: (Store, BreakerPolicy) = "AuthorizePaymentFunction",
        |deps, input| Box::pin(async move { saga::authorize_payment(&deps.0, deps.1, input).await });
    Step CONFIRM_ORDER: Store = "ConfirmOrderFunction",
        |store, input| Box::pin(async move { saga::confirm_order(&*store, input).await });
    Step CREATE_SHIPMENT: Store = "CreateShipmentFunction",
        |store, input| Box::pin(async move { saga::create_shipment(&*store, input).await });
    Step REFUND_PAYMENT: Store = "RefundPaymentFunction",
        |store, input| Box::pin(async move { saga::refund_payment(&*store, input).await });
    Step RELEASE_STOCK: Store = "ReleaseStockFunction",
        |store, input| Box::pin(async move { saga::release_stock(&*store, input).await });
    Step MARK_PAYMENT_FAILED: Store = "MarkPaymentFailedFunction",
        |store, input| Box::pin(async move { saga::mark_payment_failed(&*store, input).await });
    Queue START_CHECKOUT: (Store, SagaStarter) = "StartCheckoutFunction",
        |deps, event| Box::pin(async move { handoff::start_checkout(&deps.0, &deps.1, event).await });
    Queue AUDIT: Store = "AuditFunction",
        |store, batch| Box::pin(async move { audit::record_events(&*store, batch).await });
    Queue SALES_ANALYTICS: Store = "SalesAnalyticsFunction",
        |store, batch| Box::pin(async move { sales::record_sales(&*store, batch).await });
    Queue NOTIFY: (Store, Mailer) = "NotifyFunction",
        |deps, batch| Box::pin(async move { notify::notify_customers(&deps.0, &deps.1, batch).await });
    Queue STOCK_ALERTS: (Store, (Mailer, AlertRecipient)) = "StockAlertsFunction",
        |deps, batch| Box::pin(async move { stock_alerts::record_stock_alerts(&deps.0, &deps.1, batch).await });
    Queue ORDER_UPDATES: (Store, Connections) = "OrderUpdatesFunction",
        |deps, batch| Box::pin(async move { order_updates::push_order_updates(&deps.0, &deps.1, batch).await });
    Schedule SWEEP_PENDING_ORDERS: (Store, PendingSweep) = "SweepPendingOrdersFunction",
        |deps, _scheduled| Box::pin(async move { handoff::sweep_pending_orders(&deps.0, &deps.1).await });
    Stream PUBLISH_EVENTS: (Publisher, UnreadableChanges) = "PublishEventsFunction",
        |deps, batch| Box::pin(async move { publish::publish_events(&deps.0, &deps.1, batch).await });
}
