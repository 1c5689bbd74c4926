//! Realtime order status over the WebSocket API: `$connect` admits only a valid access token, a
//! customer receives each status change of their order, which its `occurredAt` and
//! `previousStatus` put in order (two batches may be pushed at once), and no one else's.

use crate::support;

use cartwheel_domain::{Role, Timestamp};
use cartwheel_store::{ListConnections, OpenConnection};
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use support::{checkout::place, StackOptions, TestApp};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Error, Message},
    MaybeTlsStream, WebSocketStream,
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn refused_status(app: &TestApp, query: &str) -> u16 {
    match connect_async(format!("{}/{query}", app.ws_url)).await {
        Err(Error::Http(response)) => response.status().as_u16(),
        other => panic!("the connection was not refused: {:?}", other.map(|_| ())),
    }
}

/// The status updates pushed to `socket` until each of `statuses` has arrived (or 60 s pass):
/// (status, previousStatus, occurredAt), once per status (a redelivery pushes one again).
async fn updates_until(socket: &mut Socket, statuses: &[&str]) -> Vec<(String, Value, Timestamp)> {
    let mut seen: Vec<(String, Value, Timestamp)> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !statuses
        .iter()
        .all(|s| seen.iter().any(|(status, ..)| status == s))
    {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = next else {
            panic!("not all of {statuses:?} after {seen:?}: {next:?}");
        };
        let update: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(update["type"], "orderStatus");
        let status = update["status"].as_str().unwrap().to_owned();
        if !seen.iter().any(|(s, ..)| *s == status) {
            let at: Timestamp = serde_json::from_value(update["occurredAt"].clone()).unwrap();
            seen.push((status, update["previousStatus"].clone(), at));
        }
    }
    seen
}

#[tokio::test]
async fn a_customer_follows_their_order_live_and_no_one_elses() {
    let app = TestApp::start_stack(StackOptions::default()).await;
    assert_eq!(refused_status(&app, "").await, 401, "no token");
    assert_eq!(refused_status(&app, "?token=forged").await, 401);

    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "LIVE-MUG", "Mug", "kitchen", 700)
        .await;
    let (ann_id, ann) = app.user_token(Role::Customer).await;
    let (_, bob) = app.user_token(Role::Customer).await;
    let (mut ann_socket, _) = connect_async(format!("{}/?token={ann}", app.ws_url))
        .await
        .expect("a valid token in the query string is admitted");
    let mut request = app.ws_url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {bob}")).unwrap(),
    );
    let (mut bob_socket, _) = connect_async(request)
        .await
        .expect("a valid token in the Authorization header is admitted");
    // A connection API Gateway no longer has: its first push is 410, and it is forgotten.
    app.store
        .open_connection(
            ann_id,
            "gone-connection",
            Timestamp::now().plus(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    assert_eq!(app.store.connections_of(ann_id).await.unwrap().len(), 2);

    let order = place(
        &app,
        &ann,
        mug["id"].as_str().unwrap(),
        "tok_visa",
        "live-1",
    )
    .await;
    // Two batches may be pushed at once (docs/api.md, "Realtime order status"): a client orders the
    // updates by `occurredAt`, and each names the status it followed.
    let lifecycle = ["PENDING", "RESERVED", "PAID", "CONFIRMED"];
    let mut seen = updates_until(&mut ann_socket, &lifecycle).await;
    seen.sort_by_key(|update| update.2);
    let statuses: Vec<&str> = seen.iter().map(|(s, ..)| s.as_str()).collect();
    assert_eq!(statuses, lifecycle, "order {order}: {seen:?}");
    let previous: Vec<&Value> = seen.iter().map(|(_, p, _)| p).collect();
    assert_eq!(
        previous,
        [
            &Value::Null,
            &"PENDING".into(),
            &"RESERVED".into(),
            &"PAID".into()
        ],
        "order {order}: {seen:?}"
    );
    let for_bob = tokio::time::timeout(Duration::from_secs(2), bob_socket.next()).await;
    assert!(for_bob.is_err(), "Bob received {for_bob:?}");
    assert_eq!(
        app.store.connections_of(ann_id).await.unwrap().len(),
        1,
        "the gone one is forgotten"
    );

    ann_socket.close(None).await.unwrap();
    for _ in 0..50 {
        if app.store.connections_of(ann_id).await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("$disconnect did not remove Ann's connection");
}

/// A `$connect` route whose function has no invoke permission for API Gateway refuses every
/// connection with 500, as in AWS.
#[tokio::test]
async fn a_connect_route_api_gateway_may_not_invoke_refuses_every_connection() {
    let permission = "  WsConnectPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref WsConnectFunction
";
    let elsewhere = "  WsConnectPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref WsDisconnectFunction
";
    let app = TestApp::start_stack(StackOptions::default().edit(permission, elsewhere)).await;
    let (_, token) = app.user_token(Role::Customer).await;
    assert_eq!(refused_status(&app, &format!("?token={token}")).await, 500);
}
