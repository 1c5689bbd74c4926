//! A stack's functions deployed: each cold-started in its own sandbox with its role and
//! reserved concurrency, and the principals that may invoke them.

use super::model::{role_identity, Functions, StackError};
use crate::{
    iam::{function_statements, principal_statements, sandboxed_sdk, Principal},
    provision::offline_name,
    resources::Resources,
    sandbox::{Deployed, Sandbox},
};
use aws_config::SdkConfig;
use cartwheel_functions::{deployed, Env};
use cartwheel_template::Template;
use std::{collections::HashMap, sync::Arc, time::Duration};

pub(super) fn reserved_concurrency(
    template: &Template,
    function: &str,
    resources: &Resources,
) -> Result<Option<u32>, StackError> {
    let Some(expr) = template.reserved_concurrency(function) else {
        return Ok(None);
    };
    let value = resources
        .resolve(&expr)
        .map_err(StackError::unresolved(format!(
            "{function}'s ReservedConcurrentExecutions"
        )))?;
    value.parse().map(Some).map_err(|_| {
        StackError::Wiring(format!(
            "{function}'s ReservedConcurrentExecutions is {value:?}, not a whole number"
        ))
    })
}

/// Every function of the template, cold-started in its sandbox.
pub(super) async fn deploy_functions(
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
            .collect::<Result<Vec<_>, _>>()
            .map_err(StackError::unresolved(format!("{id}'s environment")))?;
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
