//! Reading and making SQS queues in moto: their depth, draining them, a queue of a test's own.

/// How many messages `queue` holds, visible or being received.
pub(super) async fn depth(sqs: &aws_sdk_sqs::Client, queue: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as Name;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(Name::ApproximateNumberOfMessages)
        .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let count = |name: Name| -> usize { attributes.attributes().unwrap()[&name].parse().unwrap() };
    count(Name::ApproximateNumberOfMessages) + count(Name::ApproximateNumberOfMessagesNotVisible)
}

/// Receives (and deletes) every message of `queue` until a receive finds none.
pub(super) async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for message in &messages {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        all.extend(messages);
    }
}

pub(super) async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut create = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    create.send().await.unwrap().queue_url.unwrap()
}
