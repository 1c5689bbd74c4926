//! One offline deployment of template.yaml: its table, bus, queues, rules and state machines in the
//! emulators (named `<stack>-<logical id>`, or as the template names them with the stack's own
//! `AWS::StackName` and `AWS::StackId`, so stacks can share them), every function cold-started in
//! its own sandbox, and the tasks that stand in for Lambda's event source mappings, the pipes and
//! the schedules, each acting with the role AWS would use.

use crate::{
    aws_edge::AwsEdge,
    provision::{self, offline_function_arn, offline_name},
    queues::create_queues,
    resources::Resources,
    sandbox::Deployed,
};
use aws_config::SdkConfig;
use cartwheel_template::{Expr, Template, Trigger};
use std::{collections::HashMap, sync::Arc};

mod event_sources;
mod functions;
pub(crate) mod model;
mod provisioning;

use functions::deploy_functions;
use model::region;
pub use model::{EventSourceSettings, Functions, OfflineStack, StackError, StackSettings};
use provisioning::{
    create_buses, create_dashboards, create_email_identities, create_rules, create_secrets,
};

/// The account in a moto ARN (`arn:aws:sqs:<region>:<account>:<name>`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
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
            let definition = std::fs::read_to_string(&file).map_err(|source| StackError::Read {
                path: file.clone(),
                source,
            })?;
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
    pub fn function(&self, logical_id: &str) -> Result<Arc<Deployed>, StackError> {
        self.functions.get(logical_id).cloned().ok_or_else(|| {
            StackError::Wiring(format!("{logical_id} is not a function of the stack"))
        })
    }
}
