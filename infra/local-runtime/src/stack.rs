//! One offline deployment of template.yaml: its table, bus, queues, rules and state machines in the
//! emulators (named `<stack>-<logical id>`, or as the template names them with the stack's own
//! `AWS::StackName` and `AWS::StackId`, so stacks can share them), every function cold-started in
//! its own sandbox, and the tasks that stand in for Lambda's event source mappings, the pipes and
//! the schedules, each acting with the role AWS would use.

use crate::{
    aws_edge::AwsEdge,
    iam::{self, function_statements, principal_statements, sandboxed_sdk, Call, Principal},
    invoke_permission::schedule_may_invoke,
    observers,
    on_failure::FailureDestination,
    pattern::UnsupportedPattern,
    provision::{self, offline_function_arn, offline_name, ProvisionError},
    queues::{create_queues, QueueAddress, QueueConsumer},
    resources::Resources,
    sandbox::{Deployed, Sandbox},
    stream::{feed_function, play_pipe, StreamMapping, StreamReader},
    stream_retries::RetryPolicy,
};
use aws_config::SdkConfig;
use cartwheel_functions::{deployed, Env};
use cartwheel_template::{Expr, Template, TemplateError, Trigger};
use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Policy(#[from] iam::ExpandError),
    #[error(transparent)]
    Pattern(#[from] UnsupportedPattern),
    #[error("{0}")]
    Wiring(String),
}

pub struct StackSettings {
    /// The table's name; everything else is named after it.
    pub name: String,
    /// Template parameters' offline values (the rest take their defaults).
    pub parameters: HashMap<String, String>,
    /// Where template.yaml's relative paths (ASL files) start.
    pub template_dir: PathBuf,
    /// moto's own address (not the edge's).
    pub moto_url: String,
    pub event_sources: EventSourceSettings,
}

#[derive(Debug, Clone, Copy)]
pub struct EventSourceSettings {
    /// Whether queues, streams and schedules invoke their functions at all.
    pub enabled: bool,
    /// Runs every schedule this often instead of at its `rate(...)`.
    pub schedule_every: Option<Duration>,
    /// Whether pipes run; a test switches them off to prove the sweeper alone hands orders off.
    pub play_pipes: bool,
}

/// A stack's functions, each in its sandbox, and the principals that may invoke them.
pub struct Functions {
    pub stack: String,
    by_id: HashMap<String, Arc<Deployed>>,
    /// The state machines' roles: Step Functions invokes the saga's steps with them.
    pub invokers: Vec<Principal>,
    pub resources: Resources,
}

impl Functions {
    pub fn get(&self, logical_id: &str) -> Option<&Arc<Deployed>> {
        self.by_id.get(logical_id)
    }

    pub fn arn(&self, logical_id: &str) -> String {
        offline_function_arn(
            &self.resources.region,
            &self.resources.account,
            &self.stack,
            logical_id,
        )
    }
}

pub struct OfflineStack {
    pub name: String,
    pub functions: Arc<Functions>,
    pub queues: HashMap<String, QueueAddress>,
    pub state_machines: HashMap<String, String>,
    pub bus: Option<String>,
    /// Generated secrets' ARNs by logical id.
    pub secrets: HashMap<String, String>,
    /// The dashboards' names in moto's CloudWatch.
    pub dashboards: Vec<String>,
    pub pipe_principals: Vec<Arc<Principal>>,
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

/// The account in a moto ARN (`arn:aws:sqs:<region>:<account>:<name>`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn role_identity(resources: &Resources, stack: &str, principal: &str) -> String {
    let role = offline_name(stack, principal);
    format!(
        "arn:aws:sts::{}:assumed-role/{role}Role/{role}",
        resources.account
    )
}

impl OfflineStack {
    pub async fn start(
        template: &Template,
        sdk: &SdkConfig,
        edge: &AwsEdge,
        settings: StackSettings,
    ) -> Result<Self, StackError> {
        let name = settings.name.clone();
        let region = region(sdk);
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let table = template.table()?;
        provision::create_table(&dynamodb, &name, &table).await?;
        let (table_arn, stream_arn) = provision::table_arns(&dynamodb, &name).await?;

        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queues = create_queues(&sqs, &name, &template.queues()).await?;
        let account = queues
            .values()
            .find_map(|q| account_of(&q.arn))
            .unwrap_or("123456789012")
            .to_owned();
        let mut parameters = template.parameter_defaults();
        parameters.extend(settings.parameters.clone());
        let conditions = template.conditions(&parameters)?;
        let mut resources = Resources::new(&region, &account, &name, parameters);
        resources.set_conditions(conditions);
        resources.arns.table_prefix = table_arn.trim_end_matches(name.as_str()).to_owned();
        resources.add(
            &table.logical_id,
            &name,
            &[("Arn", &table_arn), ("StreamArn", &stream_arn)],
        );
        for (id, queue) in &queues {
            let queue_name = offline_name(&name, id);
            resources.add(
                id,
                &queue.url,
                &[("Arn", &queue.arn), ("QueueName", &queue_name)],
            );
            resources
                .arns
                .queues
                .insert(queue.url.clone(), queue.arn.clone());
        }
        // An HTTP API's `!Ref` is its id; offline it is named as everything else is. A WebSocket
        // API's id is a host name's first label (`<id>.execute-api...`): lower case.
        for id in template.ids_of_type("AWS::Serverless::HttpApi") {
            resources.add(&id, &offline_name(&name, &id), &[]);
        }
        for id in template.ids_of_type("AWS::ApiGatewayV2::Api") {
            resources.add(&id, &offline_name(&name, &id).to_lowercase(), &[]);
        }
        for id in template.ids_of_type("AWS::ApiGatewayV2::Stage") {
            let stage = match template.property(&id, "StageName") {
                Some(Expr::Literal(stage)) => stage,
                _ => return Err(StackError::Wiring(format!("{id} has no literal StageName"))),
            };
            resources.add(&id, &stage, &[]);
        }
        for function in template.functions()? {
            let function_name = offline_name(&name, &function.logical_id);
            let arn = offline_function_arn(&region, &account, &name, &function.logical_id);
            resources.add(&function.logical_id, &function_name, &[("Arn", &arn)]);
            for trigger in &function.triggers {
                if let Trigger::Schedule { rule, .. } = trigger {
                    let rule_name = offline_name(&name, rule);
                    let rule_arn = format!("arn:aws:events:{region}:{account}:rule/{rule_name}");
                    resources.add(rule, &rule_name, &[("Arn", &rule_arn)]);
                }
            }
        }

        let eventbridge = aws_sdk_eventbridge::Client::new(sdk);
        let bus = create_buses(template, &eventbridge, &name, &mut resources).await?;
        create_rules(template, &eventbridge, &name, &queues, &mut resources).await?;
        let secrets = create_secrets(template, sdk, &name, &mut resources).await?;
        create_email_identities(template, sdk, &mut resources).await?;

        let sfn = aws_sdk_sfn::Client::new(sdk);
        provision::enable_moto_execution(&settings.moto_url).await?;
        let mut state_machines = HashMap::new();
        for machine in template.state_machines() {
            let file = settings.template_dir.join(&machine.definition_uri);
            let definition = std::fs::read_to_string(&file)
                .map_err(|e| StackError::Wiring(format!("cannot read {}: {e}", file.display())))?;
            let arn = provision::create_state_machine(
                &sfn,
                &name,
                &machine,
                &definition,
                (&region, &account),
            )
            .await?;
            let machine_name = offline_name(&name, &machine.logical_id);
            resources.add(
                &machine.logical_id,
                &arn,
                &[("Arn", &arn), ("Name", &machine_name)],
            );
            state_machines.insert(machine.logical_id, arn);
        }

        let dashboards = create_dashboards(template, sdk, &resources).await?;
        let functions = Arc::new(deploy_functions(template, sdk, &name, resources).await?);
        edge.register(&name, Arc::clone(&functions));
        let mut stack = Self {
            name,
            functions,
            queues,
            state_machines,
            bus,
            secrets,
            dashboards,
            pipe_principals: Vec::new(),
            tasks: Vec::new(),
        };
        if crate::metrics::collecting() {
            stack.start_observers(template, sdk)?;
        }
        if settings.event_sources.enabled {
            stack.start_event_sources(template, sdk, settings.event_sources)?;
        }
        Ok(stack)
    }

    /// What SQS and Step Functions report about themselves to CloudWatch.
    fn start_observers(&mut self, template: &Template, sdk: &SdkConfig) -> Result<(), StackError> {
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

    fn start_event_sources(
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
            .map_err(StackError::Wiring)?;
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

    pub fn function(&self, logical_id: &str) -> Result<Arc<Deployed>, StackError> {
        self.functions.get(logical_id).cloned().ok_or_else(|| {
            StackError::Wiring(format!("{logical_id} is not a function of the stack"))
        })
    }
}

/// The template's generated secrets, by logical id: their `Ref` is their ARN.
/// Puts each `AWS::CloudWatch::Dashboard` into moto's CloudWatch with its `!Sub` resolved, as
/// CloudFormation does: `scripts/metrics` reads it back with `GetDashboard`, offline or in AWS.
/// Answers the dashboards' names.
async fn create_dashboards(
    template: &Template,
    sdk: &SdkConfig,
    resources: &Resources,
) -> Result<Vec<String>, StackError> {
    let client = aws_sdk_cloudwatch::Client::new(sdk);
    let mut names = Vec::new();
    for id in template.ids_of_type("AWS::CloudWatch::Dashboard") {
        let property = |path| {
            let expr = template
                .property(&id, path)
                .ok_or_else(|| StackError::Wiring(format!("dashboard {id} has no {path}")))?;
            resources
                .resolve(&expr)
                .map_err(|e| StackError::Wiring(format!("dashboard {id}'s {path}: {e}")))
        };
        let (name, body) = (property("DashboardName")?, property("DashboardBody")?);
        client
            .put_dashboard()
            .dashboard_name(&name)
            .dashboard_body(body)
            .send()
            .await
            .map_err(|e| provision::failed(format!("dashboard {name}"), e))?;
        names.push(name);
    }
    Ok(names)
}

async fn create_secrets(
    template: &Template,
    sdk: &SdkConfig,
    stack: &str,
    resources: &mut Resources,
) -> Result<HashMap<String, String>, StackError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut secrets = HashMap::new();
    for secret in template.secrets() {
        let arn =
            provision::create_secret(&client, &offline_name(stack, &secret.logical_id), &secret)
                .await?;
        resources.add(&secret.logical_id, &arn, &[]);
        let name = offline_name(stack, &secret.logical_id);
        resources.arns.secrets.insert(name, arn.clone());
        secrets.insert(secret.logical_id, arn);
    }
    Ok(secrets)
}

/// Each `AWS::SES::EmailIdentity` whose condition holds; its `!Ref` is the identity itself.
async fn create_email_identities(
    template: &Template,
    sdk: &SdkConfig,
    resources: &mut Resources,
) -> Result<(), StackError> {
    let client = aws_sdk_sesv2::Client::new(sdk);
    for id in template.ids_of_type("AWS::SES::EmailIdentity") {
        if !template.creates(&id, resources.parameters())? {
            continue;
        }
        let identity = template
            .property(&id, "EmailIdentity")
            .ok_or_else(|| StackError::Wiring(format!("{id} has no EmailIdentity")))
            .and_then(|expr| {
                resources
                    .resolve(&expr)
                    .map_err(|e| StackError::Wiring(format!("{id}'s EmailIdentity: {e}")))
            })?;
        provision::create_email_identity(&client, &identity).await?;
        resources.add(&id, &identity, &[]);
    }
    Ok(())
}

/// What Lambda checks a function's role for when it creates a mapping from a queue or a stream.
const SQS_POLLING: [&str; 3] = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];
const STREAM_READING: [&str; 4] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

fn sqs_refusal(action: &str) -> String {
    format!("The provided execution role does not have permissions to call {action} on SQS")
}

/// Refuses, with Lambda's `InvalidParameterValueException`, a mapping whose function may not do
/// each of `actions` on `resource`: a template that AWS would not deploy does not start offline.
fn check_mapping_role(
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

fn reserved_concurrency(
    template: &Template,
    function: &str,
    resources: &Resources,
) -> Result<Option<u32>, StackError> {
    let Some(expr) = template.reserved_concurrency(function) else {
        return Ok(None);
    };
    let value = resources.resolve(&expr).map_err(StackError::Wiring)?;
    value.parse().map(Some).map_err(|_| {
        StackError::Wiring(format!(
            "{function}'s ReservedConcurrentExecutions is {value:?}, not a whole number"
        ))
    })
}

/// Every function of the template, cold-started in its sandbox.
async fn deploy_functions(
    template: &Template,
    sdk: &SdkConfig,
    stack: &str,
    resources: Resources,
) -> Result<Functions, StackError> {
    let arns = Arc::new(resources.arns.clone());
    let mut by_id = HashMap::new();
    for function in template.functions()? {
        let id = function.logical_id.clone();
        let handler = deployed::handler(&id).ok_or_else(|| {
            StackError::Wiring(format!(
                "template.yaml declares {id}, but the registry has no handler for it"
            ))
        })?;
        let env = template
            .environment(&id)
            .into_iter()
            .map(|(variable, value)| Ok((variable, resources.resolve_env(&value)?)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| StackError::Wiring(format!("{id}'s environment: {e}")))?;
        let statements = function_statements(template, &id, &resources)?;
        let principal = Arc::new(Principal::new(
            &id,
            role_identity(&resources, stack, &id),
            statements,
        ));
        let sandbox = Sandbox {
            function_name: offline_name(stack, &id),
            function: id.clone(),
            env: Env::from_pairs(env),
            sdk: sandboxed_sdk(sdk, Arc::clone(&principal), Arc::clone(&arns)),
            principal,
            timeout: Duration::from_secs(template.timeout_seconds(&id)),
            reserved_concurrency: reserved_concurrency(template, &id, &resources)?,
        };
        by_id.insert(id, Arc::new(Deployed::cold_start(handler, sandbox).await));
    }
    let invokers = template
        .state_machines()
        .into_iter()
        .map(|machine| {
            let id = machine.logical_id;
            let statements = principal_statements(&id, &template.policies(&id), &resources)?;
            Ok(Principal::new(
                &id,
                role_identity(&resources, stack, &id),
                statements,
            ))
        })
        .collect::<Result<_, StackError>>()?;
    Ok(Functions {
        stack: stack.to_owned(),
        by_id,
        invokers,
        resources,
    })
}

/// Creates each bus, named as the template names it (else `<stack>-<logical id>`), with its archive.
/// Returns the last bus's name.
async fn create_buses(
    template: &Template,
    eventbridge: &aws_sdk_eventbridge::Client,
    stack: &str,
    resources: &mut Resources,
) -> Result<Option<String>, StackError> {
    let mut bus = None;
    for spec in template.buses() {
        let named = |name: &Option<Expr>, logical_id: &str| {
            name.as_ref()
                .map_or_else(
                    || Ok(offline_name(stack, logical_id)),
                    |n| resources.resolve(n),
                )
                .map_err(|e| StackError::Wiring(format!("{logical_id}'s name: {e}")))
        };
        let bus_name = named(&spec.name, &spec.logical_id)?;
        let archive = spec
            .archive
            .as_ref()
            .map(|a| named(&a.name, &a.logical_id))
            .transpose()?;
        let arn = provision::create_bus(eventbridge, &bus_name, archive.as_deref()).await?;
        resources.add(
            &spec.logical_id,
            &bus_name,
            &[("Arn", &arn), ("Name", &bus_name)],
        );
        bus = Some(bus_name);
    }
    Ok(bus)
}

/// Creates each rule, with only the targets whose queue policy lets the rule send to them: in AWS
/// a target the policy refuses never receives an event.
async fn create_rules(
    template: &Template,
    eventbridge: &aws_sdk_eventbridge::Client,
    stack: &str,
    queues: &HashMap<String, QueueAddress>,
    resources: &mut Resources,
) -> Result<(), StackError> {
    for rule in template.rules()? {
        let bus_name = resources
            .resolve(&Expr::Ref(rule.bus.clone()))
            .map_err(|e| StackError::Wiring(format!("rule {}: {e}", rule.logical_id)))?;
        let rule_name = offline_name(stack, &rule.logical_id);
        let rule_arn = format!(
            "arn:aws:events:{}:{}:rule/{bus_name}/{rule_name}",
            resources.region, resources.account
        );
        resources.add(&rule.logical_id, &rule_name, &[("Arn", &rule_arn)]);
        let mut targets = Vec::new();
        for target in &rule.target_queues {
            let address = queue(queues, target)?;
            if crate::queue_policy::admits(template, resources, &rule_arn, address)
                .map_err(StackError::Wiring)?
            {
                targets.push((target.clone(), address.arn.clone()));
            } else {
                tracing::error!(
                    rule = %rule.logical_id, queue = %target,
                    "AccessDenied: events.amazonaws.com may not sqs:SendMessage to {target} for {}; no queue policy allows it, so the target gets nothing",
                    rule.logical_id
                );
            }
        }
        provision::create_rule(eventbridge, &bus_name, &rule_name, &rule.pattern, &targets).await?;
    }
    Ok(())
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

fn run_on_schedule(function: Arc<Deployed>, every: Duration) -> JoinHandle<()> {
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
