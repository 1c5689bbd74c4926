//! Every function of template.yaml in one typed table, for the offline runtime: it instantiates
//! each in its own sandbox. A test checks the table against template.yaml in both directions. The
//! Lambda binaries do not use it: each names its own function in `deployed`.

use crate::{
    authorizer::{AuthorizerRequest, SimpleResponse},
    deployed::*,
    function::Instantiate,
    handoff::{HandoffError, SweepReport},
    saga::{SagaInput, StepResult},
};
use aws_lambda_events::{
    dynamodb,
    sqs::{SqsBatchResponse, SqsEvent},
    streams::DynamoDbEventResponse,
};
use cartwheel_http::ApiResult;
use lambda_http::Request;
use serde_json::Value;

/// A function by the kind of event it takes.
#[derive(Clone, Copy)]
pub enum Handler {
    Http(&'static dyn Instantiate<Request, ApiResult>),
    Authorizer(&'static dyn Instantiate<AuthorizerRequest, SimpleResponse<Value>>),
    Step(&'static dyn Instantiate<SagaInput, StepResult>),
    Queue(&'static dyn Instantiate<SqsEvent, SqsBatchResponse>),
    Stream(&'static dyn Instantiate<dynamodb::Event, DynamoDbEventResponse>),
    Schedule(&'static dyn Instantiate<Value, Result<SweepReport, HandoffError>>),
}

impl Handler {
    pub fn name(self) -> &'static str {
        match self {
            Self::Http(f) => f.name(),
            Self::Authorizer(f) => f.name(),
            Self::Step(f) => f.name(),
            Self::Queue(f) => f.name(),
            Self::Stream(f) => f.name(),
            Self::Schedule(f) => f.name(),
        }
    }
}

pub fn all() -> [Handler; 50] {
    use Handler::{Authorizer, Http, Queue, Schedule, Step, Stream};
    [
        Authorizer(&AUTHORIZER),
        Http(&ROUTE_NOT_FOUND),
        Http(&HEALTH),
        Http(&LIST_PRODUCTS),
        Http(&GET_PRODUCT),
        Http(&LIST_CATEGORIES),
        Http(&CREATE_PRODUCT),
        Http(&UPDATE_PRODUCT),
        Http(&DELETE_PRODUCT),
        Http(&SET_STOCK),
        Http(&SIGN_UP),
        Http(&LOGIN),
        Http(&GET_ME),
        Http(&GET_CART),
        Http(&PUT_CART_ITEM),
        Http(&REMOVE_CART_ITEM),
        Http(&PLACE_ORDER),
        Http(&GET_ORDER),
        Http(&LIST_ORDERS),
        Http(&CANCEL_ORDER),
        Http(&SHIP_ORDER),
        Http(&AUDIT_TRAIL),
        Http(&SALES_REPORT),
        Http(&LIST_FAVOURITES),
        Http(&ADD_FAVOURITE),
        Http(&REMOVE_FAVOURITE),
        Http(&LIST_REVIEWS),
        Http(&CREATE_REVIEW),
        Http(&UPDATE_REVIEW),
        Http(&DELETE_REVIEW),
        Http(&LIST_NOTIFICATIONS),
        Http(&READ_NOTIFICATION),
        Http(&LIST_STOCK_ALERTS),
        Http(&WS_CONNECT),
        Http(&WS_DISCONNECT),
        Step(&RESERVE_STOCK),
        Step(&AUTHORIZE_PAYMENT),
        Step(&CONFIRM_ORDER),
        Step(&CREATE_SHIPMENT),
        Step(&REFUND_PAYMENT),
        Step(&RELEASE_STOCK),
        Step(&MARK_PAYMENT_FAILED),
        Queue(&START_CHECKOUT),
        Queue(&AUDIT),
        Queue(&SALES_ANALYTICS),
        Queue(&NOTIFY),
        Queue(&STOCK_ALERTS),
        Queue(&ORDER_UPDATES),
        Schedule(&SWEEP_PENDING_ORDERS),
        Stream(&PUBLISH_EVENTS),
    ]
}

pub fn handler(function: &str) -> Option<Handler> {
    all().into_iter().find(|h| h.name() == function)
}
