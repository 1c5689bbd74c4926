//! Cartwheel's domain types. Each one is parsed once at the edge and cannot hold an invalid value
//! afterwards, so handlers and the store never re-check them.

mod breaker;
mod cart;
mod catalog;
mod day;
mod ids;
mod invalid;
pub mod lifecycle;
mod money;
mod notification;
mod order;
mod payment;
mod rate_limit;
mod review;
mod stock_change;
mod text;
mod time;
mod user;

pub use breaker::{Admission, BreakerPolicy, BreakerState};
pub use cart::{CartLine, Quantity};
pub use catalog::{
    Category, Description, NewProduct, Product, ProductName, ProductUpdate, Sku, Stock,
};
pub use day::Day;
pub use ids::{NotificationId, ProductId, ReviewId, UserId};
pub use invalid::InvalidValue;
pub use lifecycle::{Actor, Holdings, PaymentState, ReservationState, ShipmentState};
pub use money::{Currency, Money, PriceAmount, Total};
pub use notification::{Notification, NotificationKind};
pub use order::{
    AddressLine, CheckoutFact, CountryCode, IdempotencyKey, Order, OrderId, OrderLine, OrderStatus,
    PaymentToken, ShippingAddress, StatusChange,
};
pub use payment::{decide as decide_payment, DeclineReason, PaymentDecision};
pub use rate_limit::RateLimit;
pub use review::{
    entitles_review, Rating, Ratings, Review, ReviewBody, ReviewText, ReviewTitle, AVERAGE_RATING,
};
pub use stock_change::{StockChange, StockDelta};
pub use time::Timestamp;
pub use user::{Email, NewUser, Password, PersonName, Role, User};
