//! The narrow store traits in memory, for fast tests of the handlers' decisions: what they answer,
//! and what they leave in the store. Never a stand-in for DynamoDB's conditional writes,
//! transactions or concurrency, which are tested on DynamoDB Local; here they are only as
//! faithful as a handler's decision needs, and a call can be made to fail on demand.

mod catalog;
mod notices;
mod orders;
mod people;

pub use notices::FakeMailer;
pub use orders::order_of;

use cartwheel_domain::{
    CartLine, Notification, OrderStatus, Product, ProductId, Timestamp, UserId,
};
use cartwheel_http::ApiError;
use cartwheel_store::{
    AuthoredReview, Claim, Credentials, EarlierOrder, Favourite, Mailing, ProductQuery, StoreError,
};
use lambda_http::{http::StatusCode, Body, Request, Response};
use serde_json::{json, Value};
use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

/// The customer the fixtures sign in as.
pub const CUSTOMER: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AC";
/// The product the fixtures name in their paths.
pub const PRODUCT: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AB";

pub fn customer() -> UserId {
    CUSTOMER.parse().expect("a ULID")
}

/// A `sam local invoke` fixture from infra/events, as the handler receives it.
pub fn fixture_request(name: &str) -> Request {
    Event::fixture(name).request()
}

/// A fixture's API Gateway event, changed before it becomes a request: so each test states only
/// what differs from the request `sam local` sends.
pub struct Event(Value);

impl Event {
    pub fn fixture(name: &str) -> Self {
        let path = format!("{}/../infra/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path} is missing"));
        Self(serde_json::from_str(&text).expect("a fixture is JSON"))
    }

    pub fn body(self, body: Value) -> Self {
        self.raw_body(&body.to_string())
    }

    pub fn raw_body(mut self, text: &str) -> Self {
        self.0["body"] = json!(text);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = json!(value);
        self
    }

    /// Signed in as `user` with `role`, as the authorizer's context says.
    pub fn caller(mut self, user: &str, role: &str) -> Self {
        self.0["requestContext"]["authorizer"] = json!({"lambda": {"sub": user, "role": role}});
        self
    }

    /// Without the authorizer's context: a route the gateway should have guarded.
    pub fn anonymous(mut self) -> Self {
        let context = self.0["requestContext"].as_object_mut().expect("a context");
        context.remove("authorizer");
        self
    }

    pub fn path(mut self, name: &str, value: &str) -> Self {
        self.0["pathParameters"][name] = json!(value);
        self
    }

    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let map: serde_json::Map<String, Value> =
            pairs.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
        let raw: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encoded(k), encoded(v)))
            .collect();
        self.0["queryStringParameters"] = Value::Object(map);
        self.0["rawQueryString"] = json!(raw.join("&"));
        self
    }

    pub fn source_ip(mut self, ip: &str) -> Self {
        self.0["requestContext"]["http"]["sourceIp"] = json!(ip);
        self
    }

    pub fn request(self) -> Request {
        lambda_http::request::from_str(&self.0.to_string())
            .expect("a fixture is an API Gateway v2 event")
    }
}

/// Percent-encodes all but the unreserved characters, as a client sends a query string.
fn encoded(text: &str) -> String {
    let keep = |b: &u8| b.is_ascii_alphanumeric() || b"-._~".contains(b);
    text.bytes()
        .map(|b| match keep(&b) {
            true => char::from(b).to_string(),
            false => format!("%{b:02X}"),
        })
        .collect()
}

/// An error as the client receives it: its status, problem+json body and headers.
pub fn problem(error: &ApiError) -> (StatusCode, Value, Response<Body>) {
    let response = cartwheel_http::problem(error);
    let body = json_of(&response);
    (response.status(), body, response)
}

pub fn json_of(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

/// The problem `type` URI of a slug.
pub fn problem_type(slug: &str) -> String {
    format!("https://cartwheel.dev/problems/{slug}")
}

/// The product the fixtures order (`place-order.json`) and name in their paths.
pub fn fixture_product() -> Product {
    product(PRODUCT, "FIX-DEMO", "Fixture product", (999, "EUR"), 7)
}

/// A product with the given id, SKU, name, price (minor units, currency) and stock.
pub fn product(id: &str, sku: &str, name: &str, price: (i64, &str), stock: i64) -> Product {
    let new = serde_json::from_value(json!({"sku": sku, "name": name, "category": "kitchen",
        "price": {"amount": price.0, "currency": price.1}, "stock": stock}))
    .expect("a valid product");
    Product::create(id.parse().expect("a ULID"), new, Timestamp::now())
}

fn injected() -> StoreError {
    StoreError::Call("injected failure".into())
}

pub fn throttled() -> StoreError {
    StoreError::Throttled("injected throttling".into())
}

#[derive(Default)]
pub struct FakeStore {
    pub products: Mutex<Vec<Product>>,
    pub carts: Mutex<HashMap<UserId, Vec<CartLine>>>,
    /// The last listing asked for.
    pub product_query: Mutex<Option<ProductQuery>>,
    /// Orders stored, each with its request's fingerprint.
    pub orders: Mutex<Vec<EarlierOrder>>,
    /// The lookup by key misses, as when a concurrent attempt stores the order just after it.
    pub lookup_misses: bool,
    /// Every write of an order fails, as DynamoDB does when it throttles or is unreachable.
    pub fail_order_writes: bool,
    /// Every read of credentials fails.
    pub fail_credential_reads: bool,
    /// Hits per limit, subject and window.
    pub slots: Mutex<HashMap<String, u32>>,
    /// The statuses the saga moves a stored order through, one per read of it (the last one
    /// stays); empty, the order keeps the status it was stored with.
    pub saga: Mutex<Vec<OrderStatus>>,
    /// Reads of an order made so far.
    pub order_reads: Mutex<u32>,
    /// Every read of an order fails.
    pub fail_order_reads: bool,
    pub users: Mutex<Vec<Credentials>>,
    pub favourites: Mutex<HashMap<UserId, Vec<Favourite>>>,
    pub reviews: Mutex<Vec<AuthoredReview>>,
    pub notifications: Mutex<HashMap<UserId, Vec<Notification>>>,
    /// The (consumer, event id) pairs applied, as the dedup records keep them.
    pub applied: Mutex<HashSet<(String, String)>>,
    /// Where each e-mail claim stands.
    pub emails: Mutex<Vec<(Mailing, Claim)>>,
    /// The calls made, by trait method name, in order.
    pub calls: Mutex<Vec<&'static str>>,
    /// Calls that fail, by trait method name, and with what (set with `failing`).
    pub failures: HashMap<&'static str, fn() -> StoreError>,
}

impl FakeStore {
    pub fn with_products(products: Vec<Product>) -> Self {
        Self {
            products: products.into(),
            ..Self::default()
        }
    }

    /// Makes every call of `method` fail with `error`.
    pub fn failing(mut self, method: &'static str, error: fn() -> StoreError) -> Self {
        self.failures.insert(method, error);
        self
    }

    /// Records a call of `method`, and fails it if the test said so.
    fn call(&self, method: &'static str) -> Result<(), StoreError> {
        self.calls.lock().unwrap().push(method);
        self.failures
            .get(method)
            .map_or(Ok(()), |error| Err(error()))
    }

    pub fn called(&self, method: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| **c == method).count()
    }

    pub fn product(&self, id: ProductId) -> Option<Product> {
        let products = self.products.lock().unwrap();
        products.iter().find(|p| p.id == id).cloned()
    }

    pub fn cart(&self, user: UserId) -> Vec<CartLine> {
        let carts = self.carts.lock().unwrap();
        carts.get(&user).cloned().unwrap_or_default()
    }

    /// Slots held on all limits, in all windows.
    pub fn slots_held(&self) -> u32 {
        self.slots.lock().unwrap().values().sum()
    }
}

/// One page of `items`: `limit` of them from the offset `cursor` names, and the cursor of the
/// next page if there is one. A cursor that is no offset is refused, as the store refuses one it
/// did not issue.
fn page<T>(
    items: Vec<T>,
    limit: u16,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let start: usize = match cursor {
        Some(raw) => raw.parse().map_err(|_| StoreError::InvalidCursor)?,
        None => 0,
    };
    let end = start + usize::from(limit);
    let next = (end < items.len()).then(|| end.to_string());
    let page = items.into_iter().skip(start).take(usize::from(limit));
    Ok((page.collect(), next))
}
