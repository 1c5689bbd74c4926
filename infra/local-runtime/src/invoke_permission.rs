//! Lambda resource policies offline: a service (API Gateway for a route, an authorizer or a
//! WebSocket route; EventBridge for a schedule) invokes a function only if one of the function's
//! invoke permissions names the service and a `SourceArn` pattern that the invoking source
//! matches, as Lambda checks it in AWS.

use crate::{iam::wildcard_match, resources::Resources};
use cartwheel_template::{Expr, Function, Template};
use std::collections::HashMap;

pub const API_GATEWAY: &str = "apigateway.amazonaws.com";
pub const EVENTS: &str = "events.amazonaws.com";

pub fn may_invoke(
    template: &Template,
    resources: &Resources,
    function: &str,
    principal: &str,
    source_arn: &str,
) -> bool {
    template.invoke_permissions().iter().any(|permission| {
        permission.function == function
            && permission.principal == principal
            && permission.source_arn.as_ref().is_none_or(|pattern| {
                resources
                    .resolve(pattern)
                    .is_ok_and(|pattern| wildcard_match(&pattern, source_arn))
            })
    })
}

/// What Lambda logs offline, once per refused source, when a service may not invoke a function.
pub fn refused(function: &str, principal: &str, source_arn: &str) {
    tracing::error!(
        function, principal, source = source_arn,
        "AccessDenied: {principal} may not lambda:InvokeFunction {function} from {source_arn}: no resource-based policy (AWS::Lambda::Permission) allows it"
    );
}

/// Whether a schedule's rule may invoke `function`. EventBridge would count every tick refused
/// as a failed invocation; offline the schedule is not started and the refusal is logged.
pub fn schedule_may_invoke(
    template: &Template,
    resources: &Resources,
    function: &str,
    rule: &str,
) -> bool {
    let Ok(source) = resources.resolve(&Expr::GetAtt(rule.to_owned(), "Arn".into())) else {
        refused(function, EVENTS, rule);
        return false;
    };
    let allowed = may_invoke(template, resources, function, EVENTS, &source);
    if !allowed {
        refused(function, EVENTS, &source);
    }
    allowed
}

/// The HTTP API's routes whose function API Gateway may not invoke, by route key, with the
/// source ARN refused: every request to one gets 500, as in AWS. A request's source is
/// `<api>/<stage>/<METHOD>/<path>`; a path parameter stands for any value, as SAM's permission
/// says it may.
pub fn refused_routes(
    template: &Template,
    resources: &Resources,
    api_id: &str,
    functions: &[Function],
) -> HashMap<String, (String, String)> {
    let mut refused = HashMap::new();
    for function in functions {
        for route in &function.routes {
            let method = route
                .method
                .as_deref()
                .unwrap_or("ANY")
                .to_ascii_uppercase();
            let (key, request) = match route.path.as_deref() {
                None | Some("$default") => ("$default".to_owned(), "GET/any/path".to_owned()),
                Some(path) => {
                    let concrete: Vec<&str> = path
                        .split('/')
                        .map(|s| if s.starts_with('{') { "value" } else { s })
                        .collect();
                    (
                        format!("{method} {path}"),
                        format!("{method}{}", concrete.join("/")),
                    )
                }
            };
            let source = format!(
                "arn:aws:execute-api:{}:{}:{api_id}/$default/{request}",
                resources.region, resources.account
            );
            let function = function.logical_id.clone();
            if !may_invoke(template, resources, &function, API_GATEWAY, &source) {
                refused.insert(key, (function, source));
            }
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartwheel_template::{schedule_rule, EMBEDDED};

    fn symbolic() -> Resources {
        Resources::symbolic("us-east-1", "123456789012", "shop")
    }

    #[test]
    fn api_gateway_may_invoke_every_route_s_function_and_nothing_else() {
        let template = Template::parse(EMBEDDED).unwrap();
        let functions = template.functions().unwrap();
        let resources = symbolic();
        assert_eq!(
            refused_routes(&template, &resources, "<HttpApi>", &functions),
            HashMap::new()
        );
        // Another API's requests match no permission: every route is refused.
        let refused = refused_routes(&template, &resources, "other-api", &functions);
        assert!(refused.contains_key("POST /users"), "{refused:?}");
        assert!(refused.contains_key("$default"), "{refused:?}");
    }

    #[test]
    fn a_schedule_may_invoke_only_its_own_function() {
        let template = Template::parse(EMBEDDED).unwrap();
        let rule = schedule_rule("SweepPendingOrdersFunction", "EveryMinute");
        let resources = symbolic();
        let may = |function| schedule_may_invoke(&template, &resources, function, &rule);
        assert!(may("SweepPendingOrdersFunction"));
        assert!(!may("PublishEventsFunction"));
    }
}
