//! The resources CloudFormation would create besides the table, queues and state machines: the
//! buses and rules, the secrets, the sender identities and the dashboards.

use super::model::{queue, StackError};
use crate::{
    provision::{self, offline_name},
    queues::QueueAddress,
    resources::Resources,
};
use aws_config::SdkConfig;
use cartwheel_template::{Expr, Template};
use std::collections::HashMap;

/// The template's generated secrets, by logical id: their `Ref` is their ARN.
/// Puts each `AWS::CloudWatch::Dashboard` into moto's CloudWatch with its `!Sub` resolved, as
/// CloudFormation does: `scripts/metrics` reads it back with `GetDashboard`, offline or in AWS.
/// Answers the dashboards' names.
pub(super) async fn create_dashboards(
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
                .map_err(StackError::unresolved(format!("dashboard {id}'s {path}")))
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

pub(super) async fn create_secrets(
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
pub(super) async fn create_email_identities(
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
                    .map_err(StackError::unresolved(format!("{id}'s EmailIdentity")))
            })?;
        provision::create_email_identity(&client, &identity).await?;
        resources.add(&id, &identity, &[]);
    }
    Ok(())
}

/// Creates each bus, named as the template names it (else `<stack>-<logical id>`), with its archive.
/// Returns the last bus's name.
pub(super) async fn create_buses(
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
                .map_err(StackError::unresolved(format!("{logical_id}'s name")))
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
pub(super) async fn create_rules(
    template: &Template,
    eventbridge: &aws_sdk_eventbridge::Client,
    stack: &str,
    queues: &HashMap<String, QueueAddress>,
    resources: &mut Resources,
) -> Result<(), StackError> {
    for rule in template.rules()? {
        let bus_name = resources
            .resolve(&Expr::Ref(rule.bus.clone()))
            .map_err(StackError::unresolved(format!("rule {}", rule.logical_id)))?;
        let rule_name = offline_name(stack, &rule.logical_id);
        let rule_arn = format!(
            "arn:aws:events:{}:{}:rule/{bus_name}/{rule_name}",
            resources.region, resources.account
        );
        resources.add(&rule.logical_id, &rule_name, &[("Arn", &rule_arn)]);
        let mut targets = Vec::new();
        for target in &rule.target_queues {
            let address = queue(queues, target)?;
            if crate::queue_policy::admits(template, resources, &rule_arn, address)? {
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
