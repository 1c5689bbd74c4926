//! One offline deployment of template.yaml: its table, bus, queues, rules and state machines in the
//! emulators (named `<stack>-<logical id>`, so stacks can share them), the App its functions run
//! with, and the tasks that stand in for Lambda's event sources, the pipes and the schedules.

use crate::{
    aws_edge::AwsEdge,
    pattern::UnsupportedPattern,
    provision::{self, offline_name, ProvisionError},
    queues::{create_queues, QueueAddress, QueueConsumer},
    stream::{feed_function, play_pipe, StreamReader},
};
use aws_config::SdkConfig;
use cartwheel_functions::{
    registry::{self, Handler},
    App, Config, ConfigError,
};
use cartwheel_template::{EnvValue, Template, TemplateError, Trigger};
use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Pattern(#[from] UnsupportedPattern),
    #[error("{0}")]
    Wiring(String),
}

pub struct StackSettings {
    /// The table's name; everything else is named after it.
    pub config: Config,
    /// Where template.yaml's relative paths (ASL files) start.
    pub template_dir: PathBuf,
    /// moto's own address (not the edge's).
    pub moto_url: String,
    pub event_sources: EventSourceSettings,
}

#[derive(Debug, Clone, Copy)]
pub struct EventSourceSettings {
    /// Runs every schedule this often instead of at its `rate(...)`.
    pub schedule_every: Option<Duration>,
    /// Whether pipes run; a test switches them off to prove the sweeper alone hands orders off.
    pub play_pipes: bool,
}

pub struct OfflineStack {
    pub name: String,
    pub app: Arc<App>,
    pub queues: HashMap<String, QueueAddress>,
    pub state_machines: HashMap<String, String>,
    pub bus: Option<String>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for OfflineStack {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

fn region(sdk: &SdkConfig) -> String {
    sdk.region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string)
}

impl OfflineStack {
    pub async fn start(
        template: &Template,
        sdk: &SdkConfig,
        edge: &AwsEdge,
        settings: StackSettings,
    ) -> Result<Self, StackError> {
        let mut config = settings.config;
        let name = config.table_name.clone();
        let region = region(sdk);
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        provision::create_table(&dynamodb, &name, &template.table()?).await?;

        let eventbridge = aws_sdk_eventbridge::Client::new(sdk);
        let mut physical: HashMap<String, String> = HashMap::new();
        physical.insert(template.table()?.logical_id, name.clone());
        let mut bus = None;
        for spec in template.buses() {
            let bus_name = offline_name(&name, &spec.logical_id);
            provision::create_bus(&eventbridge, &bus_name, &spec).await?;
            physical.insert(spec.logical_id.clone(), bus_name.clone());
            bus = Some(bus_name);
        }

        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queues = create_queues(&sqs, &name, &template.queues()).await?;
        physical.extend(queues.iter().map(|(id, q)| (id.clone(), q.url.clone())));
        for rule in template.rules()? {
            let targets = rule
                .target_queues
                .iter()
                .map(|q| Ok((q.clone(), queue(&queues, q)?.arn.clone())))
                .collect::<Result<Vec<_>, StackError>>()?;
            let bus_name = physical.get(&rule.bus).ok_or_else(|| {
                StackError::Wiring(format!("rule {} names an unknown bus", rule.logical_id))
            })?;
            let rule_name = offline_name(&name, &rule.logical_id);
            provision::create_rule(&eventbridge, bus_name, &rule_name, &rule.pattern, &targets)
                .await?;
        }

        let sfn = aws_sdk_sfn::Client::new(sdk);
        provision::enable_moto_execution(&settings.moto_url).await?;
        let mut state_machines = HashMap::new();
        for machine in template.state_machines() {
            let file = settings.template_dir.join(&machine.definition_uri);
            let definition = std::fs::read_to_string(&file)
                .map_err(|e| StackError::Wiring(format!("cannot read {}: {e}", file.display())))?;
            let arn = provision::create_state_machine(&sfn, &name, &machine, &definition, &region)
                .await?;
            physical.insert(machine.logical_id.clone(), arn.clone());
            state_machines.insert(machine.logical_id, arn);
        }

        resolve_environment(template, &physical, &mut config)?;
        let app = Arc::new(App::new(sdk, &config));
        edge.register(&name, Arc::clone(&app));

        let mut stack = Self {
            name,
            app,
            queues,
            state_machines,
            bus,
            tasks: Vec::new(),
        };
        stack
            .start_event_sources(template, sdk, settings.event_sources)
            .await?;
        Ok(stack)
    }

    async fn start_event_sources(
        &mut self,
        template: &Template,
        sdk: &SdkConfig,
        settings: EventSourceSettings,
    ) -> Result<(), StackError> {
        let region = &region(sdk);
        let (dynamodb, sqs) = (
            &aws_sdk_dynamodb::Client::new(sdk),
            &aws_sdk_sqs::Client::new(sdk),
        );
        let streams = streams_client(sdk);
        let reader = || StreamReader::open(streams.clone(), dynamodb, &self.name, region);
        if settings.play_pipes {
            for pipe in template.pipes()? {
                let target = queue(&self.queues, &pipe.target_queue)?.clone();
                self.tasks
                    .push(play_pipe(reader().await?, pipe, sqs.clone(), target)?);
            }
        }
        for function in template.functions()? {
            let handler = registry::handler(&function.logical_id);
            for trigger in &function.triggers {
                match (trigger, handler) {
                    (
                        Trigger::Queue {
                            queue: q,
                            batch_size,
                            max_concurrency,
                        },
                        Some(Handler::Queue(handler)),
                    ) => {
                        let consumer = QueueConsumer {
                            client: sqs.clone(),
                            queue: queue(&self.queues, q)?.clone(),
                            handler,
                            app: Arc::clone(&self.app),
                            batch_size: *batch_size,
                            region: region.to_owned(),
                        };
                        self.tasks.extend(consumer.spawn(*max_concurrency));
                    }
                    (Trigger::TableStream { batch_size }, Some(Handler::Stream(handler))) => {
                        self.tasks.push(feed_function(
                            reader().await?,
                            function.logical_id.clone(),
                            handler,
                            Arc::clone(&self.app),
                            *batch_size,
                        ));
                    }
                    (Trigger::Schedule { every_seconds }, Some(Handler::Schedule(handler))) => {
                        let every = settings
                            .schedule_every
                            .unwrap_or(Duration::from_secs(*every_seconds));
                        self.tasks.push(run_on_schedule(
                            function.logical_id.clone(),
                            handler,
                            Arc::clone(&self.app),
                            every,
                        ));
                    }
                    (trigger, _) => {
                        return Err(StackError::Wiring(format!(
                            "{}'s handler does not take {trigger:?}",
                            function.logical_id
                        )))
                    }
                }
            }
        }
        Ok(())
    }
}

fn queue<'a>(
    queues: &'a HashMap<String, QueueAddress>,
    logical_id: &str,
) -> Result<&'a QueueAddress, StackError> {
    queues
        .get(logical_id)
        .ok_or_else(|| StackError::Wiring(format!("{logical_id} is not a queue of the template")))
}

/// DynamoDB Local serves streams on the DynamoDB endpoint.
fn streams_client(sdk: &SdkConfig) -> aws_sdk_dynamodbstreams::Client {
    let mut config = aws_sdk_dynamodbstreams::config::Builder::from(sdk);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB_STREAMS")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_DYNAMODB"));
    if let Ok(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_dynamodbstreams::Client::from_conf(config.build())
}

/// Every `!Ref` a function's environment makes to a resource gets that resource's offline name,
/// URL or ARN; literals and parameters come from the process environment as usual.
fn resolve_environment(
    template: &Template,
    physical: &HashMap<String, String>,
    config: &mut Config,
) -> Result<(), StackError> {
    for function in template.functions()? {
        for (variable, value) in template.environment(&function.logical_id) {
            if let EnvValue::Resource(id) = value {
                let resolved = physical.get(&id).ok_or_else(|| {
                    StackError::Wiring(format!(
                        "{}'s {variable} refers to {id}, which the offline stack does not create",
                        function.logical_id
                    ))
                })?;
                config.set(&variable, resolved)?;
            }
        }
    }
    Ok(())
}

fn run_on_schedule(
    function: String,
    handler: cartwheel_functions::registry::ScheduleHandler,
    app: Arc<App>,
    every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match handler(Arc::clone(&app)).await {
                Ok(report) => tracing::info!(%function, ?report, "scheduled run finished"),
                Err(error) => tracing::error!(%function, %error, "scheduled run failed"),
            }
        }
    })
}
