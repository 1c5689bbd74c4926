//! Placing and reading orders. An order is accepted in one conditional write and answered 202; the
//! checkout saga takes it from `PENDING`. A client that sends `Prefer: wait=N` is answered when
//! the checkout has answered (200), or after N seconds at most with the order as it is (202).

use super::{catalog::page_size, store_error};
use crate::limits::{OrderLimit, Slot};
use cartwheel_domain::{
    lifecycle::{self, Actor},
    IdempotencyKey, Order, OrderId, OrderLine, OrderStatus, PaymentToken, Product, ProductId,
    Quantity, Role, ShippingAddress, Timestamp, Total, UserId,
};
use cartwheel_http::{
    json, json_body, path_id, query_param, ApiError, ApiResult, Caller, FieldError,
};
use cartwheel_store::{
    Counter, EarlierOrder, FindEarlierOrder, GetCart, GetOrder, GetOrderDetails, GetProducts,
    GiveBackSlot, IdempotentRequest, ListOrders, PlaceOrder, Placement, SettleOrder, ShipOrder,
    StoreError, TakeSlot,
};
use lambda_http::{
    http::{header, HeaderValue, StatusCode},
    Request,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};
use tokio::time::Instant;

/// One transaction holds the order and the cart lines it clears (at most 100 items in all).
pub const MAX_ORDER_LINES: usize = 50;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequestedLine {
    product_id: ProductId,
    quantity: Quantity,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlaceOrderRequest {
    #[serde(default)]
    items: Option<Vec<RequestedLine>>,
    #[serde(default)]
    from_cart: bool,
    shipping_address: ShippingAddress,
    payment_token: PaymentToken,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::InvalidField(FieldError {
        field: field.into(),
        message: message.into(),
    })
}

fn idempotency_key(request: &Request) -> Result<IdempotencyKey, ApiError> {
    let name = "Idempotency-Key";
    let raw = request
        .headers()
        .get(name)
        .ok_or_else(|| ApiError::InvalidHeader {
            name,
            message: "is required to place an order".into(),
        })?;
    let text = raw.to_str().map_err(|_| ApiError::InvalidHeader {
        name,
        message: "must be ASCII".into(),
    })?;
    IdempotencyKey::parse(text).map_err(|e| ApiError::InvalidHeader { name, message: e.0 })
}

/// The lines to order, as (product, quantity), from the body or from the caller's cart.
async fn requested_lines(
    store: &impl GetCart,
    user: UserId,
    body: &PlaceOrderRequest,
) -> Result<(Vec<(ProductId, Quantity)>, Vec<ProductId>), ApiError> {
    let lines: Vec<(ProductId, Quantity)> = match (&body.items, body.from_cart) {
        (Some(items), false) => items.iter().map(|l| (l.product_id, l.quantity)).collect(),
        (None, true) => {
            let cart = store.cart_lines(user).await.map_err(store_error)?;
            if cart.is_empty() {
                return Err(invalid("fromCart", "the cart is empty"));
            }
            cart.iter().map(|l| (l.product_id, l.quantity)).collect()
        }
        _ => {
            return Err(invalid(
                "items",
                "give either a list of items or \"fromCart\": true",
            ))
        }
    };
    if lines.is_empty() || lines.len() > MAX_ORDER_LINES {
        return Err(invalid(
            "items",
            format!("must hold 1 to {MAX_ORDER_LINES} lines"),
        ));
    }
    let mut seen = HashSet::new();
    if let Some(i) = lines.iter().position(|(id, _)| !seen.insert(*id)) {
        return Err(invalid(
            format!("items[{i}].productId"),
            "appears twice; order it once with the total quantity",
        ));
    }
    let from_cart = if body.from_cart {
        lines.iter().map(|(id, _)| *id).collect()
    } else {
        Vec::new()
    };
    Ok((lines, from_cart))
}

/// Prices every line from the catalog, never from the client.
fn priced_lines(
    lines: &[(ProductId, Quantity)],
    products: Vec<Product>,
) -> Result<(Vec<OrderLine>, Total), ApiError> {
    let mut by_id: HashMap<ProductId, Product> = products.into_iter().map(|p| (p.id, p)).collect();
    let mut priced = Vec::with_capacity(lines.len());
    for (i, (id, quantity)) in lines.iter().enumerate() {
        let product = by_id.remove(id).ok_or_else(|| {
            invalid(
                format!("items[{i}].productId"),
                format!("no product {id} exists"),
            )
        })?;
        priced.push(OrderLine::priced(&product, *quantity));
    }
    let mut totals = priced.iter().map(|l| l.line_total.clone());
    let first = totals
        .next()
        .ok_or_else(|| invalid("items", "must not be empty"))?;
    let total = totals
        .try_fold(first, |sum, line| sum.plus(&line))
        .ok_or_else(|| {
            invalid(
                "items",
                "all products of one order must be priced in one currency",
            )
        })?;
    Ok((priced, total))
}

/// The longest `Prefer: wait` honoured: the function's timeout (25 s) and API Gateway's
/// integration timeout (30 s for an HTTP API) leave room for the write and the answer.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// The first pause between two reads of a waited-for order, doubled after each read up to
/// `MAX_PAUSE`: a saga offline or in AWS takes a few hundred milliseconds when idle.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// `Prefer: wait=N` (RFC 7240): how long the client will wait for the checkout's answer, at
/// most `MAX_WAIT`. Other preferences are ignored, as the RFC asks; a wait that is not a number
/// of seconds is refused.
fn wait_preference(request: &Request) -> Result<Option<Duration>, ApiError> {
    let name = "Prefer";
    let preferences = request.headers().get_all(name).iter();
    let texts = preferences.filter_map(|value| value.to_str().ok());
    let wait = texts
        .flat_map(|text| text.split(','))
        .filter_map(|preference| preference.split(';').next())
        .filter_map(|token| token.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("wait"));
    let Some((_, seconds)) = wait else {
        return Ok(None);
    };
    let seconds: u64 =
        seconds
            .trim()
            .trim_matches('"')
            .parse()
            .map_err(|_| ApiError::InvalidHeader {
                name,
                message: "wait must be a whole number of seconds, as in `wait=10`".into(),
            })?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds).min(MAX_WAIT)))
}

fn answered(code: StatusCode, order_id: OrderId, status: OrderStatus) -> ApiResult {
    let mut response = json(code, &json!({ "orderId": order_id, "status": status }))?;
    if let Ok(location) = HeaderValue::from_str(&format!("/orders/{order_id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The order as the checkout left it within `wait`: 200 once it has answered, else 202 with
/// the status it has. A read that fails ends the wait with what is known: the order is placed
/// either way, and the client can read it.
async fn waited(
    store: &impl GetOrder,
    placed: (OrderId, OrderStatus),
    wait: Duration,
) -> ApiResult {
    let (id, mut status) = placed;
    let deadline = Instant::now() + wait;
    let mut pause = FIRST_PAUSE;
    while !status.checkout_answered() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_PAUSE);
        match store.get_order(id).await {
            Ok(Some(order)) => status = order.status,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = %cartwheel_http::ErrorChain(&error), "reading the waited-for order failed; answering 202");
                break;
            }
        }
    }
    let code = if status.checkout_answered() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = answered(code, id, status)?;
    let applied = format!("wait={}", wait.as_secs());
    if let Ok(applied) = HeaderValue::from_str(&applied) {
        response.headers_mut().insert("preference-applied", applied);
    }
    Ok(response)
}

/// The order a retry is owed: the one its key placed, unless the key placed another request.
fn replayed(earlier: &EarlierOrder, fingerprint: &str) -> Result<(OrderId, OrderStatus), ApiError> {
    if earlier.fingerprint != fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    Ok((earlier.order.id, earlier.order.status))
}

fn order_slot(caller: &Caller, limit: &OrderLimit) -> Slot {
    Slot {
        counter: Counter::new("orders-customer", caller.user_id.to_string()),
        limit: limit.0,
        what: "orders",
    }
}

/// A new order pays for its reads and its one conditional write, and nothing more: its key's
/// earlier order is looked up only when the order is refused, as a retry's may be although its
/// first attempt was accepted (the cart that order emptied, the limit it counted, a product
/// changed since). A retry that meets no refusal reaches the conditional write, whose refusal
/// answers the order already in the key's place (`Placement::Replayed`); the slot it took is
/// given back. The fingerprint is of the body as sent, so a cart order's retry matches it
/// whatever the cart holds now. A retry with `Prefer: wait` waits too.
#[tracing::instrument(skip_all, fields(orderId))]
pub async fn place_order(
    store: &(impl FindEarlierOrder
          + GetCart
          + GetProducts
          + PlaceOrder
          + TakeSlot
          + GiveBackSlot
          + GetOrder),
    limit: &OrderLimit,
    request: Request,
) -> ApiResult {
    let caller = Caller::of(&request)?;
    let key = idempotency_key(&request)?;
    let wait = wait_preference(&request)?;
    let body: PlaceOrderRequest = json_body(&request)?;
    let fingerprint = hex::encode(Sha256::digest(
        serde_json::to_vec(&body).map_err(ApiError::internal)?,
    ));
    let idempotent = IdempotentRequest {
        user: caller.user_id,
        key,
        fingerprint,
    };
    let placed = match place_new_order(store, order_slot(&caller, limit), &idempotent, body).await {
        Ok(placed) => placed,
        Err(refused) => earlier_or(store, &idempotent, refused).await?,
    };
    match wait {
        Some(wait) => waited(store, placed, wait).await,
        None => answered(StatusCode::ACCEPTED, placed.0, placed.1),
    }
}

/// The order the key placed before, if a refused attempt is a retry of it; otherwise the
/// refusal. A lookup that fails leaves the refusal as it was.
async fn earlier_or(
    store: &impl FindEarlierOrder,
    idempotent: &IdempotentRequest,
    refused: ApiError,
) -> Result<(OrderId, OrderStatus), ApiError> {
    if matches!(refused, ApiError::IdempotencyKeyReused) {
        return Err(refused);
    }
    match store.earlier_order(idempotent.user, &idempotent.key).await {
        Ok(Some(earlier)) => {
            tracing::Span::current().record("orderId", tracing::field::display(earlier.order.id));
            replayed(&earlier, &idempotent.fingerprint)
        }
        _ => Err(refused),
    }
}

/// The order, placed unless its key placed one already (the conditional write tells). The slot is
/// taken once the order is known to be valid, and given back if no order comes of it: the store
/// failed, or an earlier or concurrent attempt with the key placed it first.
async fn place_new_order(
    store: &(impl GetCart + GetProducts + PlaceOrder + TakeSlot + GiveBackSlot),
    slot: Slot,
    idempotent: &IdempotentRequest,
    body: PlaceOrderRequest,
) -> Result<(OrderId, OrderStatus), ApiError> {
    let (lines, cart_lines) = requested_lines(store, idempotent.user, &body).await?;
    let ids: Vec<ProductId> = lines.iter().map(|(id, _)| *id).collect();
    let products = store.get_products(&ids).await.map_err(store_error)?;
    let (priced, total) = priced_lines(&lines, products)?;
    let now = Timestamp::now();
    slot.take(store, now).await?;
    let order = Order::place(
        idempotent.user,
        &idempotent.key,
        priced,
        total,
        body.shipping_address,
        body.payment_token,
        now,
    );
    tracing::Span::current().record("orderId", tracing::field::display(order.id));
    let placement = store.place_order(&order, idempotent, &cart_lines).await;
    if !matches!(placement, Ok(Placement::Placed)) {
        slot.give_back(store, now).await;
    }
    match placement.map_err(store_error)? {
        Placement::Placed => {
            cartwheel_telemetry::count(cartwheel_telemetry::Metric::OrdersPlaced, 1);
            tracing::info!(lines = order.lines.len(), totalMinor = order.total.amount, currency = ?order.total.currency, "order placed");
            Ok((order.id, order.status))
        }
        Placement::Replayed(earlier) => replayed(&earlier, &idempotent.fingerprint),
    }
}

/// The owner or an admin sees the order; to anyone else it does not exist.
#[tracing::instrument(skip_all, fields(orderId))]
pub async fn get_order(store: &impl GetOrderDetails, request: Request) -> ApiResult {
    let caller = Caller::of(&request)?;
    let id: OrderId = path_id(&request, "orderId")?;
    match store.get_order_details(id).await.map_err(store_error)? {
        Some(details) if details.order.user_id == caller.user_id || caller.role == Role::Admin => {
            json(StatusCode::OK, &details)
        }
        _ => Err(ApiError::NotFound(format!("order {id}"))),
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_orders(store: &impl ListOrders, request: Request) -> ApiResult {
    let caller = Caller::of(&request)?;
    let limit = page_size(&request)?;
    let cursor = query_param(&request, "cursor");
    let page = store
        .list_orders(caller.user_id, limit, cursor.as_deref())
        .await
        .map_err(store_error)?;
    json(StatusCode::OK, &page)
}

/// The owner cancels anything that has not left the warehouse (the lifecycle's `Cancel` row):
/// the status change, the refund, the stock put back and the shipment voided happen in one
/// transaction, so a cancel is never half done. Cancelling again answers the same.
#[tracing::instrument(skip_all, fields(orderId))]
pub async fn cancel_order(store: &(impl GetOrder + SettleOrder), request: Request) -> ApiResult {
    let caller = Caller::of(&request)?;
    let id: OrderId = path_id(&request, "orderId")?;
    let order = match store.get_order(id).await.map_err(store_error)? {
        Some(order) if order.user_id == caller.user_id => order,
        _ => return Err(ApiError::NotFound(format!("order {id}"))),
    };
    let row = lifecycle::transition(Actor::Cancel, OrderStatus::Cancelled);
    match store
        .settle_order(id, row.from, row.to, Timestamp::now())
        .await
    {
        Ok(_) => json(
            StatusCode::ACCEPTED,
            &json!({ "orderId": id, "status": OrderStatus::Cancelled }),
        ),
        Err(StoreError::VersionConflict) => Err(ApiError::Conflict(format!(
            "order {id} is {:?} and can no longer be cancelled",
            order.status
        ))),
        Err(error) => Err(store_error(error)),
    }
}

/// An admin marks a confirmed order as shipped, once its shipment exists; shipping again answers
/// the same.
#[tracing::instrument(skip_all, fields(orderId))]
pub async fn ship_order(store: &(impl GetOrder + ShipOrder), request: Request) -> ApiResult {
    Caller::admin(&request)?;
    let id: OrderId = path_id(&request, "orderId")?;
    let order = store
        .get_order(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("order {id}")))?;
    match store.ship_order(id, Timestamp::now()).await {
        Ok(_) => json(
            StatusCode::OK,
            &json!({ "orderId": id, "status": OrderStatus::Shipped }),
        ),
        Err(StoreError::VersionConflict) => Err(ApiError::Conflict(format!(
            "order {id} is {:?}; only a CONFIRMED order whose shipment was created can be shipped",
            order.status
        ))),
        Err(error) => Err(store_error(error)),
    }
}

#[cfg(test)]
mod tests;
