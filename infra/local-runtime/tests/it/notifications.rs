//! Notifications: each order event a customer is told of is stored once and e-mailed once through
//! SES (moto's, whose recorded messages the tests read), however often it is delivered; the
//! customer lists them with the unread count and marks them read.

use crate::support;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use cartwheel_domain::{OrderStatus, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use support::{
    checkout::{place, wait_for_outcomes},
    fixtures::{fixture, store_fixture_data},
    sent_mail, StackOptions, TestApp,
};

/// The (subject, body) of every e-mail moto's SES sent to `address`.
async fn mail_to(address: &str) -> Vec<(String, String)> {
    mail_matching(|m| m["destinations"]["ToAddresses"][0] == address).await
}

/// The (subject, body) of every e-mail moto's SES sent from `sender` to `address`. The fixture
/// data's customer is shared by every stack on this moto, and tests run at once: a count of its
/// mail must name the sender too.
async fn mail_from_to(sender: &str, address: &str) -> Vec<(String, String)> {
    mail_matching(|m| m["source"] == sender && m["destinations"]["ToAddresses"][0] == address).await
}

async fn mail_matching(keep: impl Fn(&Value) -> bool) -> Vec<(String, String)> {
    sent_mail()
        .await
        .iter()
        .filter(|m| keep(m))
        .map(|m| {
            let text = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (text("subject"), text("body"))
        })
        .collect()
}

/// The kinds of a page of notifications, in its order.
fn kinds(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect()
}

async fn notifications(app: &TestApp, token: &str) -> Value {
    let response = app
        .send(Method::GET, "/notifications", Some(token), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The e-mail address of the customer behind `token`.
async fn address_of(app: &TestApp, token: &str) -> String {
    let me: Value = app
        .send(Method::GET, "/users/me", Some(token), None)
        .await
        .json()
        .await
        .unwrap();
    me["email"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_order_tells_its_customer_by_notification_and_email() {
    let app = TestApp::start_stack(StackOptions::default()).await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "NOTE-MUG", "Mug", "kitchen", 900)
        .await;
    let (_, ann) = app.user_token(Role::Customer).await;
    let (_, bob) = app.user_token(Role::Customer).await;
    let order = place(
        &app,
        &ann,
        mug["id"].as_str().unwrap(),
        "tok_visa",
        "note-1",
    )
    .await;
    let outcomes = wait_for_outcomes(&app, &[order], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&order], OrderStatus::Confirmed);

    let mut page = notifications(&app, &ann).await;
    for _ in 0..100 {
        if page["items"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        page = notifications(&app, &ann).await;
    }
    assert_eq!(
        kinds(&page),
        ["OrderConfirmed", "OrderPlaced"],
        "newest first"
    );
    assert_eq!(page["unread"], 2);
    assert_eq!(page["items"][0]["orderId"], order.to_string());

    let mail = mail_to(&address_of(&app, &ann).await).await;
    let subjects: Vec<&str> = mail.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects.len(), 2, "{mail:?}");
    assert!(subjects.contains(&format!("Your order {order} is confirmed").as_str()));
    assert!(subjects.contains(&format!("Your order {order} is received").as_str()));

    assert_eq!(notifications(&app, &bob).await["items"], json!([]));
    let id = page["items"][0]["id"].as_str().unwrap();
    let read = format!("/notifications/{id}/read");
    let by_bob = app.send(Method::POST, &read, Some(&bob), None).await;
    assert_eq!(
        by_bob.status(),
        StatusCode::NOT_FOUND,
        "only its customer's"
    );
    for _ in 0..2 {
        let marked = app.send(Method::POST, &read, Some(&ann), None).await;
        assert_eq!(marked.status(), StatusCode::NO_CONTENT);
    }
    let page = notifications(&app, &ann).await;
    assert_eq!(page["unread"], 1, "read twice, counted once");
    assert_eq!(page["items"][0]["read"], true);
    let bad = app
        .send(Method::POST, "/notifications/nope/read", Some(&ann), None)
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// The fixture's event, `copies` times in one batch, then poison; message ids `m0`, `m1`, ...
fn batch_with_copies(copies: usize) -> SqsEvent {
    let fixture: SqsEvent = serde_json::from_str(&fixture("notify")).unwrap();
    let template: SqsMessage = fixture.records[0].clone();
    let mut bodies = vec![template.body.clone().unwrap(); copies];
    bodies.push("not an event".into());
    let mut batch = SqsEvent::default();
    for (i, body) in bodies.into_iter().enumerate() {
        let mut message = template.clone();
        message.message_id = Some(format!("m{i}"));
        message.body = Some(body);
        batch.records.push(message);
    }
    batch
}

#[tokio::test]
async fn a_redelivered_event_or_batch_gives_one_notification_and_one_email() {
    // A sender of its own: other tests send to the fixture data's customer at the same time.
    let sender = format!("redelivery-{}@cartwheel.example", ulid::Ulid::new()).to_lowercase();
    let app =
        TestApp::start_stack(StackOptions::api_only().parameter("NotificationSender", &sender))
            .await;
    store_fixture_data(&app.store).await;
    // The fixture data's customer has one notification already: count what this test adds.
    let address = "customer@example.com";
    let before = mail_from_to(&sender, address).await.len();
    let notify = app.function("NotifyFunction");
    // Three copies of one event in a batch, handled at once: one sends the e-mail, and a copy
    // that finds it mid-send fails, to come back later. Each round redelivers what failed, as SQS
    // does, and then the whole batch once more.
    let mut batch = batch_with_copies(3);
    for _ in 0..10 {
        let response = notify.queue(batch.clone()).await.unwrap();
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        assert!(failed.contains(&"m3".to_owned()), "the poison fails");
        if failed == ["m3"] {
            break;
        }
        batch
            .records
            .retain(|m| failed.contains(m.message_id.as_ref().unwrap()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = notify.queue(batch_with_copies(3)).await.unwrap();
    assert_eq!(again.batch_item_failures.len(), 1, "{again:?}");
    assert_eq!(notify.sandbox.principal.denials(), vec![]);
    let token = app
        .tokens
        .issue(support::fixtures::CUSTOMER.parse().unwrap(), Role::Customer)
        .unwrap()
        .access_token;
    let page = notifications(&app, &token).await;
    assert_eq!(kinds(&page), ["OrderConfirmed", "OrderPlaced"]);
    assert_eq!(page["unread"], 2);
    let after = mail_from_to(&sender, address).await.len();
    assert_eq!(
        after,
        before + 1,
        "one e-mail ({before} before, {after} after)"
    );
}

#[tokio::test]
async fn without_ses_send_email_the_email_is_refused_as_aws_refuses_it() {
    let statement = "            - Effect: Allow\n              Action: [ses:SendEmail]\n";
    let app = TestApp::start_stack(StackOptions::api_only().edit(
        statement,
        "            - Effect: Deny\n              Action: [ses:SendEmail]\n",
    ))
    .await;
    store_fixture_data(&app.store).await;
    let notify = app.function("NotifyFunction");
    let response = notify.queue(batch_with_copies(1)).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 2, "the event fails too");
    let denied = notify.sandbox.principal.denials();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0].action, "ses:SendEmail");
    assert!(denied[0]
        .resource
        .ends_with(":identity/notifications@cartwheel.example"));
}

/// A stack whose sender is `sender`, declared as its own identity or not.
async fn stack_sending_from(sender: &str, declare: bool) -> TestApp {
    let options = StackOptions::api_only()
        .parameter("NotificationSender", sender)
        .parameter("DeclareSenderIdentity", &declare.to_string());
    let app = TestApp::start_stack(options).await;
    store_fixture_data(&app.store).await;
    app
}

/// `DeclareSenderIdentity=false`: two stacks in one account share a sender that one of them (or
/// a person) verified; a stack that declares none sends only from an identity that exists.
#[tokio::test]
async fn a_stack_that_declares_no_identity_sends_only_from_one_verified_before() {
    let shared = format!("orders-{}@cartwheel.example", ulid::Ulid::new()).to_lowercase();
    let never_verified = format!("nobody-{}@cartwheel.example", ulid::Ulid::new()).to_lowercase();

    let without = stack_sending_from(&shared, false).await;
    let refused = without
        .function("NotifyFunction")
        .queue(batch_with_copies(1))
        .await
        .unwrap();
    assert_eq!(
        refused.batch_item_failures.len(),
        2,
        "not verified yet: the event fails too"
    );

    let _dev = stack_sending_from(&shared, true).await;
    let prod = stack_sending_from(&shared, false).await;
    let sent = prod
        .function("NotifyFunction")
        .queue(batch_with_copies(1))
        .await
        .unwrap();
    assert_eq!(
        sent.batch_item_failures.len(),
        1,
        "only the poison: {sent:?}"
    );

    let other = stack_sending_from(&never_verified, false).await;
    let refused = other
        .function("NotifyFunction")
        .queue(batch_with_copies(1))
        .await
        .unwrap();
    assert_eq!(refused.batch_item_failures.len(), 2, "{refused:?}");
}
