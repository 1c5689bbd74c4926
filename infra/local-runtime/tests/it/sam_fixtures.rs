//! The `sam local invoke` fixtures in infra/events, run through the handlers exactly as Lambda
//! would deliver them (lambda_http parses the API Gateway v2 event).

use crate::support;

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use cartwheel_domain::{OrderStatus, Role};
use cartwheel_functions::{deployed, registry::Handler, saga::SagaInput};
use cartwheel_store::{
    GetOrder, GetOrderDetails, GetProduct, ListProducts, PaymentState, ProductQuery, Store,
};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde_json::json;
use std::collections::HashMap;
use support::{
    fixtures::{fixture, store_fixture_data, CUSTOMER, NOTIFICATION, ORDER, PRODUCT, REVIEW},
    template, StackOptions, TestApp,
};

/// A fresh stack (API and functions) holding what the fixtures refer to.
async fn app_with_fixture_data(options: StackOptions) -> TestApp {
    let app = TestApp::start_stack(options).await;
    store_fixture_data(&app.store).await;
    app
}

/// Deletes every item of the stack's table, so that the next fixture finds the fixture data as
/// it was written: one stack serves every fixture (a stack costs 50 cold starts, emptying a table
/// of a few dozen items a scan and a batch delete).
async fn empty_table(store: &Store) {
    let client = store.client();
    let table = client
        .describe_table()
        .table_name(store.table_name())
        .send()
        .await
        .expect("the test's own table");
    let keys: Vec<String> = (table.table().and_then(|t| t.key_schema.clone()))
        .expect("a table has a key schema")
        .into_iter()
        .map(|k| k.attribute_name)
        .collect();
    let items = client
        .scan()
        .table_name(store.table_name())
        .send()
        .await
        .expect("the test's scan of its own table");
    assert!(
        items.last_evaluated_key().is_none(),
        "a fixture table fits in one page"
    );
    for chunk in items.items().chunks(25) {
        let deletes = chunk.iter().map(|item| {
            let key = item.iter().filter(|(name, _)| keys.contains(name));
            let key = key
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            let delete = DeleteRequest::builder().set_key(Some(key)).build();
            WriteRequest::builder()
                .delete_request(delete.expect("a key"))
                .build()
        });
        let mut pending = HashMap::from([(store.table_name().to_owned(), deletes.collect())]);
        // BatchWriteItem may leave some undone; an item left would break the next fixture.
        while !pending.is_empty() {
            let answer = client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .expect("the test's delete of its own items");
            pending = answer.unprocessed_items.unwrap_or_default();
        }
    }
}

/// The one stack the HTTP fixtures share, with the fixture data written anew.
async fn with_fresh_fixture_data(app: &TestApp) {
    empty_table(&app.store).await;
    store_fixture_data(&app.store).await;
}

fn expected_status(binary: &str) -> u16 {
    match binary {
        "create-product" | "sign-up" => 201,
        "place-order" | "cancel-order" => 202,
        "ship-order" => 409,
        // A fixture holds no valid token: `$connect` refuses it (the authorizer's fixture test
        // shows how a real one is admitted).
        "ws-connect" => 401,
        // CUSTOMER has reviewed PRODUCT already: the transaction runs and is refused.
        "create-review" => 409,
        "delete-product" | "add-favourite" | "remove-favourite" | "delete-review"
        | "read-notification" | "ws-disconnect" => 204,
        "route-not-found" => 404,
        _ => 200,
    }
}

#[tokio::test]
async fn every_http_function_answers_its_fixture() {
    let app = TestApp::start_stack(StackOptions::api_only()).await;
    for function in template().functions().unwrap() {
        let Some(Handler::Http(_)) = deployed::handler(&function.logical_id) else {
            continue;
        };
        with_fresh_fixture_data(&app).await;
        let request = lambda_http::request::from_str(&fixture(&function.binary))
            .expect("the fixture is an API Gateway v2 event");
        let deployed = app.function(&function.logical_id);
        let response = deployed
            .http(request)
            .await
            .expect("the function answers within its timeout")
            .unwrap_or_else(|e| cartwheel_http::problem(&e));
        assert_eq!(
            deployed.sandbox.principal.denials(),
            vec![],
            "{}'s policy must allow what its handler does",
            function.logical_id
        );
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert_eq!(
            response.status().as_u16(),
            expected_status(&function.binary),
            "{}: {body}",
            function.binary
        );

        let stored = app
            .store
            .get_product(PRODUCT.parse().unwrap())
            .await
            .unwrap();
        match function.binary.as_str() {
            "update-product" => {
                assert_eq!(stored.unwrap().name.as_str(), "Renamed fixture product")
            }
            // The fixture product holds 7 units; the fixture adds 33.
            "set-stock" => assert_eq!(stored.unwrap().stock.units(), 40),
            "delete-product" => assert!(stored.is_none()),
            "create-product" => {
                let query = ProductQuery {
                    category: None,
                    text: Some("fixture mug".into()),
                    price: Default::default(),
                    limit: 5,
                    cursor: None,
                };
                assert_eq!(
                    app.store.list_products(&query).await.unwrap().items.len(),
                    1
                );
            }
            "get-me" => assert!(body.contains(CUSTOMER)),
            "get-order" | "list-orders" => assert!(body.contains(ORDER), "{body}"),
            "cancel-order" => assert!(body.contains("CANCELLED"), "{body}"),
            "ship-order" => assert!(body.contains("only a CONFIRMED order"), "{body}"),
            "place-order" => assert!(body.contains(r#""status":"PENDING""#), "{body}"),
            "login" => assert!(body.contains("accessToken")),
            "put-cart-item" => assert!(
                body.contains(r#""quantity":2"#) && body.contains(PRODUCT),
                "{body}"
            ),
            "list-reviews" => assert!(body.contains(REVIEW), "{body}"),
            "list-notifications" => {
                assert!(
                    body.contains(NOTIFICATION) && body.contains(r#""unread":1"#),
                    "{body}"
                )
            }
            "create-review" => assert!(body.contains("reviewed this product already"), "{body}"),
            "update-review" => {
                let product = stored.unwrap();
                assert_eq!(
                    (product.ratings.rating_count, product.ratings.rating_sum),
                    (1, 2)
                );
                assert!(body.contains("Broke after a week"), "{body}");
            }
            "delete-review" => {
                let product = stored.unwrap();
                assert_eq!(
                    (product.ratings.rating_count, product.ratings.rating_sum),
                    (0, 0)
                );
            }
            "get-cart" | "remove-cart-item" => assert!(body.contains(r#""items":[]"#), "{body}"),
            _ => assert!(stored.is_some()),
        }
    }
}

#[tokio::test]
async fn the_authorizer_fixture_is_admitted_with_a_real_token_only() {
    let app = TestApp::start().await;
    let authorizer = app.function("AuthorizerFunction");
    let raw = fixture("authorizer");
    let as_shipped: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&raw).unwrap();
    assert!(
        !authorizer
            .authorizer(as_shipped)
            .await
            .unwrap()
            .is_authorized
    );

    let token = app
        .tokens
        .issue(CUSTOMER.parse().unwrap(), Role::Customer)
        .unwrap()
        .access_token;
    let with_token: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(&raw.replace("REPLACE_WITH_ACCESS_TOKEN", &token)).unwrap();
    let answer = authorizer.authorizer(with_token).await.unwrap();
    assert!(answer.is_authorized);
    assert_eq!(answer.context, json!({"sub": CUSTOMER, "role": "customer"}));
}

/// Every saga step, each with the order's status after it: the forward steps, then the
/// compensations. One run through all of them ends as no saga would (shipped, then refunded); it
/// shows each fixture is what its handler takes, with what its policy allows.
const SAGA: [(&str, OrderStatus); 7] = [
    ("reserve-stock", OrderStatus::Reserved),
    ("authorize-payment", OrderStatus::Paid),
    ("confirm-order", OrderStatus::Confirmed),
    ("create-shipment", OrderStatus::Confirmed),
    ("refund-payment", OrderStatus::Confirmed),
    ("release-stock", OrderStatus::Confirmed),
    ("mark-payment-failed", OrderStatus::PaymentFailed),
];

#[tokio::test]
async fn every_saga_step_takes_its_fixture() {
    let steps: Vec<_> = template()
        .functions()
        .unwrap()
        .into_iter()
        .filter(|f| matches!(deployed::handler(&f.logical_id), Some(Handler::Step(_))))
        .collect();
    let mut binaries: Vec<&str> = steps.iter().map(|f| f.binary.as_str()).collect();
    binaries.sort_unstable();
    let mut covered: Vec<&str> = SAGA.iter().map(|(binary, _)| *binary).collect();
    covered.sort_unstable();
    assert_eq!(binaries, covered, "every step function is in SAGA");

    let app = app_with_fixture_data(StackOptions::api_only()).await;
    for (binary, status) in SAGA {
        let function = steps.iter().find(|f| f.binary == binary).unwrap();
        let input: SagaInput = serde_json::from_str(&fixture(binary)).expect("a saga input");
        let deployed = app.function(&function.logical_id);
        let output = deployed
            .step(input)
            .await
            .expect("the step answers in time");
        let output = output.unwrap_or_else(|e| panic!("{binary}: {e}"));
        assert_eq!(output.order_id.to_string(), ORDER, "{binary}");
        assert_eq!(deployed.sandbox.principal.denials(), vec![], "{binary}");
        let order = app.store.get_order(ORDER.parse().unwrap()).await.unwrap();
        assert_eq!(order.unwrap().status, status, "after {binary}");
    }
    let details = app.store.get_order_details(ORDER.parse().unwrap()).await;
    let details = details.unwrap().unwrap();
    assert_eq!(details.payment.unwrap().state, PaymentState::Refunded);
    assert!(details.shipment.is_some(), "create-shipment shipped it");
}

#[tokio::test]
async fn the_order_updates_fixture_is_taken_with_no_connection_to_push_to() {
    let app = app_with_fixture_data(StackOptions::api_only()).await;
    let batch = serde_json::from_str(&fixture("order-updates")).expect("an SQS event");
    let deployed = app.function("OrderUpdatesFunction");
    let response = deployed.queue(batch).await.expect("it answers in time");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(deployed.sandbox.principal.denials(), vec![]);
}
