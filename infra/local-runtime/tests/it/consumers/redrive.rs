//! Redriving a dead-letter queue: its messages go back to their source and are applied once,
//! with their bodies, attributes and FIFO groups.

use super::{
    messages::{fixture_event, impatient_audit_queue, variant},
    queues::{create_queue, depth, drain},
};
use crate::support::{sdk_config, TestApp};
use cartwheel_store::ListAudit;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_redrive_moves_the_dead_letters_back_and_the_consumer_applies_them_once() {
    let app = TestApp::start_stack(impatient_audit_queue()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let dead_letters = &app.stack.queues["AuditDeadLetterQueue"].url;
    let (_, event) = fixture_event("audit");
    let orders = [
        "01HZX3N5Q8V2K7M4R9T6W1Y0B1",
        "01HZX3N5Q8V2K7M4R9T6W1Y0B2",
        "01HZX3N5Q8V2K7M4R9T6W1Y0B3",
    ];
    // What a broken consumer left behind: three good events and one that never will be.
    let mut bodies: Vec<String> = orders
        .iter()
        .enumerate()
        .map(|(i, order)| {
            variant(
                &event,
                &format!("redrive-{i}#OrderConfirmed"),
                json!({"orderId": order}),
            )
        })
        .collect();
    bodies.push("not an event".into());
    for body in &bodies {
        sqs.send_message()
            .queue_url(dead_letters)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    // By name, as an operator types it; the source is found from the redrive policies.
    let name = format!("{}-AuditDeadLetterQueue", app.stack.name);
    let mut batches = Vec::new();
    let redriven = cartwheel_local::ops::redrive(&sqs, &name, None, |batch, total| {
        batches.push((batch, total))
    })
    .await
    .unwrap();
    assert_eq!(redriven.source, app.stack.queues["AuditQueue"].url);
    assert_eq!(redriven.moved, 4);
    assert_eq!(batches, [(4, 4)]);
    assert_eq!(
        depth(&sqs, dead_letters).await,
        0,
        "the dead-letter queue is empty"
    );

    // The good events are applied, once each...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for (i, order) in orders.iter().enumerate() {
        loop {
            let trail = app.store.list_audit(order, 10, None).await.unwrap();
            if !trail.items.is_empty() {
                let ids: Vec<&str> = trail.items.iter().map(|r| r.event_id.as_str()).collect();
                assert_eq!(ids, [format!("redrive-{i}#OrderConfirmed")]);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{order} was never audited"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // ...and the poison fails its receives again and is back, alone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let back = loop {
        let messages = drain(&sqs, dead_letters).await;
        if !messages.is_empty() {
            break messages;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poison never came back"
        );
    };
    let back: Vec<&str> = back.iter().filter_map(|m| m.body()).collect();
    assert_eq!(back, ["not an event"]);
    for order in orders {
        let trail = app.store.list_audit(order, 10, None).await.unwrap();
        assert_eq!(trail.items.len(), 1, "{order} audited once");
    }
}

#[tokio::test]
async fn a_redrive_keeps_bodies_attributes_and_fifo_groups_and_needs_one_source() {
    use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let prefix = format!("ops-{}", ulid::Ulid::new()).to_lowercase();
    let dead_letters = create_queue(&sqs, &format!("{prefix}-dlq")).await;
    let target = create_queue(&sqs, &format!("{prefix}-target")).await;
    for i in 0..12 {
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(format!("kind-{i}"))
            .build()
            .unwrap();
        sqs.send_message()
            .queue_url(&dead_letters)
            .message_body(format!("message {i}"))
            .message_attributes("kind", kind)
            .send()
            .await
            .unwrap();
    }
    // No queue names this one as its dead-letter queue: the operator must say where to.
    let refused = cartwheel_local::ops::redrive(&sqs, &dead_letters, None, |_, _| {}).await;
    assert!(
        matches!(
            refused,
            Err(cartwheel_local::ops::RedriveError::NoSource { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(depth(&sqs, &dead_letters).await, 12, "nothing moved");

    let mut batches = Vec::new();
    let redriven = cartwheel_local::ops::redrive(&sqs, &dead_letters, Some(&target), |b, t| {
        batches.push((b, t))
    })
    .await
    .unwrap();
    assert_eq!(redriven.moved, 12);
    assert_eq!(batches, [(10, 10), (2, 12)]);
    assert_eq!(depth(&sqs, &dead_letters).await, 0);
    let mut moved: Vec<(String, String)> = drain(&sqs, &target)
        .await
        .iter()
        .map(|m| {
            let kind = m.message_attributes().unwrap()["kind"].string_value();
            (m.body().unwrap().to_owned(), kind.unwrap().to_owned())
        })
        .collect();
    moved.sort();
    let mut sent: Vec<(String, String)> = (0..12)
        .map(|i| (format!("message {i}"), format!("kind-{i}")))
        .collect();
    sent.sort();
    assert_eq!(moved, sent, "the same bodies and attributes, each once");

    // FIFO: each message back in its group, in order, however often it has been moved.
    let fifo_dead_letters = create_queue(&sqs, &format!("{prefix}-dlq.fifo")).await;
    let fifo_target = create_queue(&sqs, &format!("{prefix}-target.fifo")).await;
    let sent = [("a", "a1"), ("b", "b1"), ("a", "a2")];
    for (group, body) in sent {
        sqs.send_message()
            .queue_url(&fifo_dead_letters)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(body)
            .send()
            .await
            .unwrap();
    }
    let redriven =
        cartwheel_local::ops::redrive(&sqs, &fifo_dead_letters, Some(&fifo_target), |_, _| {})
            .await
            .unwrap();
    assert_eq!(redriven.moved, 3);
    let moved: Vec<(String, String)> = drain(&sqs, &fifo_target)
        .await
        .iter()
        .map(|m| {
            let group = &m.attributes().unwrap()[&MessageSystemAttributeName::MessageGroupId];
            (group.clone(), m.body().unwrap().to_owned())
        })
        .collect();
    let in_group = |wanted: &str| -> Vec<String> {
        moved
            .iter()
            .filter(|(g, _)| g == wanted)
            .map(|(_, b)| b.clone())
            .collect()
    };
    assert_eq!(in_group("a"), ["a1", "a2"]);
    assert_eq!(in_group("b"), ["b1"]);
}
