//! Lambda resource policies offline: a service (API Gateway for an authorizer or a WebSocket
//! route) invokes a function only if one of the function's invoke permissions names the service
//! and a `SourceArn` pattern that the invoking source matches, as Lambda checks it in AWS.

use crate::{iam::wildcard_match, resources::Resources};
use cartwheel_template::Template;

pub const API_GATEWAY: &str = "apigateway.amazonaws.com";

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
