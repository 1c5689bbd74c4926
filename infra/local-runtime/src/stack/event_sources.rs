//! What stands in for Lambda's event source mappings, the pipes and the schedules, each acting
//! with the role AWS would use; and the observers that emit what AWS would measure.

use super::model::{queue, role_identity, EventSourceSettings, OfflineStack, StackError};
use crate::{
    iam::{principal_statements, sandboxed_sdk, Call, Principal},
    invoke_permission::schedule_may_invoke,
    observers,
    on_failure::FailureDestination,
    queues::QueueConsumer,
    sandbox::Deployed,
    stream::{feed_function, play_pipe, StreamMapping, StreamReader},
    stream_retries::RetryPolicy,
};
use aws_config::SdkConfig;
use cartwheel_template::{Expr, Template, Trigger};
use std::{sync::Arc, time::Duration};
use tokio::task::JoinHandle;

impl OfflineStack {
    pub(super) fn start_observers(
        &mut self,
        template: &Template,
        sdk: &SdkConfig,
    ) -> Result<(), StackError> {
        let polled: Vec<String> = template
            .functions()?
            .into_iter()
            .flat_map(|f| f.triggers)
            .filter_map(|trigger| match trigger {
                Trigger::Queue { queue, .. } => Some(queue),
                _ => None,
            })
            .collect();
        let (polled, others): (Vec<_>, Vec<_>) =
            self.queues.iter().partition(|(id, _)| polled.contains(id));
        let sqs = aws_sdk_sqs::Client::new(sdk);
        for (queues, every) in [
            (polled, observers::POLLED_QUEUE_EVERY),
            (others, observers::OTHER_QUEUE_EVERY),
        ] {
            let queues = queues.into_iter().map(|(_, q)| q.clone()).collect();
            self.tasks
                .push(observers::watch_queues(sqs.clone(), queues, every));
        }
        let machines = self.state_machines.values().cloned().collect();
        let sfn = aws_sdk_sfn::Client::new(sdk);
        self.tasks.push(observers::watch_executions(sfn, machines));
        Ok(())
    }

    pub(super) fn start_event_sources(
        &mut self,
        template: &Template,
        sdk: &SdkConfig,
        settings: EventSourceSettings,
    ) -> Result<(), StackError> {
        let stream_arn = self
            .functions
            .resources
            .resolve(&Expr::GetAtt(
                template.table()?.logical_id,
                "StreamArn".into(),
            ))
            .map_err(StackError::unresolved("the table's StreamArn"))?;
        if settings.play_pipes {
            self.start_pipes(template, sdk, &stream_arn)?;
        }
        for function in template.functions()? {
            let deployed = self.function(&function.logical_id)?;
            for trigger in &function.triggers {
                if let Trigger::Schedule { rule, .. } = trigger {
                    let resources = &self.functions.resources;
                    if !schedule_may_invoke(template, resources, &function.logical_id, rule) {
                        continue;
                    }
                }
                self.start_trigger(trigger, &deployed, &stream_arn, settings)?;
            }
        }
        Ok(())
    }

    /// Each pipe reads the stream and sends to its target with its own role.
    fn start_pipes(
        &mut self,
        template: &Template,
        sdk: &SdkConfig,
        stream_arn: &str,
    ) -> Result<(), StackError> {
        let resources = &self.functions.resources;
        for pipe in template.pipes()? {
            let entries = pipe
                .role
                .as_deref()
                .map(|r| template.role_policies(r))
                .unwrap_or_default();
            let statements = principal_statements(&pipe.logical_id, &entries, resources)?;
            let identity = role_identity(resources, &self.name, &pipe.logical_id);
            let principal = Arc::new(Principal::new(&pipe.logical_id, identity, statements));
            let pipe_sdk = sandboxed_sdk(
                sdk,
                Arc::clone(&principal),
                Arc::new(resources.arns.clone()),
            );
            let reader =
                StreamReader::new(streams_client(&pipe_sdk), stream_arn, &resources.region);
            let target = queue(&self.queues, &pipe.target_queue)?.clone();
            let sqs = aws_sdk_sqs::Client::new(&pipe_sdk);
            self.tasks.push(play_pipe(reader, pipe, sqs, target)?);
            self.pipe_principals.push(principal);
        }
        Ok(())
    }

    /// Plays one event source mapping or schedule of `function`. A mapping polls with the
    /// function's role, and is created only if that role may read its source.
    fn start_trigger(
        &mut self,
        trigger: &Trigger,
        function: &Arc<Deployed>,
        stream_arn: &str,
        settings: EventSourceSettings,
    ) -> Result<(), StackError> {
        let function_sdk = &function.sandbox.sdk;
        let region = self.functions.resources.region.clone();
        match trigger {
            Trigger::Queue {
                queue: q,
                batch_size,
                max_concurrency,
            } => {
                let queue = queue(&self.queues, q)?.clone();
                check_mapping_role(function, &queue.arn, &SQS_POLLING, sqs_refusal)?;
                let consumer = QueueConsumer {
                    client: aws_sdk_sqs::Client::new(function_sdk),
                    queue,
                    function: Arc::clone(function),
                    batch_size: *batch_size,
                    region,
                };
                self.tasks.extend(consumer.spawn(*max_concurrency));
            }
            Trigger::TableStream {
                batch_size,
                max_retries,
                bisect,
                report_item_failures,
                on_failure,
            } => {
                self.check_stream_mapping(function, stream_arn, on_failure.as_deref())?;
                let on_failure = match on_failure {
                    Some(q) => Some(FailureDestination {
                        client: aws_sdk_sqs::Client::new(function_sdk),
                        queue_url: queue(&self.queues, q)?.url.clone(),
                        function_arn: self.functions.arn(&function.sandbox.function),
                    }),
                    None => None,
                };
                let mapping = StreamMapping {
                    batch_size: *batch_size,
                    retries: RetryPolicy {
                        max_retries: *max_retries,
                        bisect: *bisect,
                        report_item_failures: *report_item_failures,
                    },
                    on_failure,
                };
                let reader = StreamReader::new(streams_client(function_sdk), stream_arn, &region);
                self.tasks
                    .push(feed_function(reader, Arc::clone(function), mapping));
            }
            Trigger::Schedule { every_seconds, .. } => {
                let every = settings
                    .schedule_every
                    .unwrap_or(Duration::from_secs(*every_seconds));
                self.tasks
                    .push(run_on_schedule(Arc::clone(function), every));
            }
        }
        Ok(())
    }

    /// Lambda checks that the function may read the stream and send to the on-failure queue.
    fn check_stream_mapping(
        &self,
        function: &Deployed,
        stream_arn: &str,
        on_failure: Option<&str>,
    ) -> Result<(), StackError> {
        check_mapping_role(function, stream_arn, &STREAM_READING, |_| {
            format!("Cannot access stream {stream_arn}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.")
        })?;
        let Some(destination) = on_failure else {
            return Ok(());
        };
        let destination = queue(&self.queues, destination)?;
        check_mapping_role(
            function,
            &destination.arn,
            &["sqs:SendMessage"],
            sqs_refusal,
        )
    }
}

/// What Lambda checks a function's role for when it creates a mapping from a queue or a stream.
pub(super) const SQS_POLLING: [&str; 3] = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];
pub(super) const STREAM_READING: [&str; 4] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

pub(super) fn sqs_refusal(action: &str) -> String {
    format!("The provided execution role does not have permissions to call {action} on SQS")
}

/// Refuses, with Lambda's `InvalidParameterValueException`, a mapping whose function may not do
/// each of `actions` on `resource`: a template that AWS would not deploy does not start offline.
pub(super) fn check_mapping_role(
    function: &Deployed,
    resource: &str,
    actions: &[&str],
    refusal: impl Fn(&str) -> String,
) -> Result<(), StackError> {
    let principal = &function.sandbox.principal;
    let missing = actions.iter().find(|action| {
        !principal.allows(&Call {
            action: (**action).to_owned(),
            resource: resource.to_owned(),
        })
    });
    match missing {
        Some(action) => Err(StackError::Wiring(format!(
            "{}'s event source mapping: InvalidParameterValueException: {}",
            principal.name,
            refusal(action.split_once(':').map_or(action, |(_, name)| name))
        ))),
        None => Ok(()),
    }
}

/// DynamoDB Local serves streams on the DynamoDB endpoint.
pub(super) fn streams_client(sdk: &SdkConfig) -> aws_sdk_dynamodbstreams::Client {
    let mut config = aws_sdk_dynamodbstreams::config::Builder::from(sdk);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB_STREAMS")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_DYNAMODB"));
    if let Ok(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_dynamodbstreams::Client::from_conf(config.build())
}

pub(super) fn run_on_schedule(function: Arc<Deployed>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let name = function.sandbox.function.clone();
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let event = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
            match function.schedule(event).await {
                Ok(Ok(report)) => {
                    tracing::info!(function = %name, ?report, "scheduled run finished")
                }
                Ok(Err(error)) => tracing::error!(function = %name, %error, "scheduled run failed"),
                Err(failure) => tracing::error!(function = %name, %failure, "scheduled run failed"),
            }
        }
    })
}
