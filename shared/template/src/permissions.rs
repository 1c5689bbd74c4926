//! Lambda resource policies: who may invoke a function. A service invokes a function only if the
//! function's resource policy lets it: the template's `AWS::Lambda::Permission`s, and the ones SAM
//! generates (an `HttpApi` event's, and an `HttpApi` authorizer's when it says
//! `EnableFunctionDefaultPermissions: true`; SAM adds none for an authorizer otherwise).

use crate::{
    model::{get, referenced_id, text, Template},
    policies::Expr,
};
use serde_yaml::Value;

/// One statement of a function's resource policy: `principal` may invoke `function`, from
/// `source_arn` (an ARN pattern) if it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokePermission {
    pub function: String,
    pub principal: String,
    pub source_arn: Option<Expr>,
}

const API_GATEWAY: &str = "apigateway.amazonaws.com";

fn execute_api(api: &str, rest: &str) -> Expr {
    Expr::Sub(format!(
        "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/{rest}"
    ))
}

impl Template {
    /// Every invoke permission the deployed stack would hold.
    pub fn invoke_permissions(&self) -> Vec<InvokePermission> {
        let explicit = self
            .resources_of_type("AWS::Lambda::Permission")
            .filter_map(|(_, permission)| {
                let props = get(permission, "Properties")?;
                if text(props, "Action").as_deref() != Some("lambda:InvokeFunction") {
                    return None;
                }
                Some(InvokePermission {
                    function: referenced_id(get(props, "FunctionName")?)?,
                    principal: text(props, "Principal")?,
                    source_arn: get(props, "SourceArn").and_then(Expr::parse),
                })
            });
        let authorizers =
            self.resources_of_type("AWS::Serverless::HttpApi")
                .flat_map(|(api, resource)| {
                    let declared = get(resource, "Properties")
                        .and_then(|p| get(p, "Auth"))
                        .and_then(|auth| get(auth, "Authorizers"))
                        .and_then(Value::as_mapping)
                        .cloned()
                        .unwrap_or_default();
                    declared
                        .into_iter()
                        .filter(|(_, spec)| {
                            get(spec, "EnableFunctionDefaultPermissions").and_then(Value::as_bool)
                                == Some(true)
                        })
                        .filter_map(|(_, spec)| referenced_id(get(&spec, "FunctionArn")?))
                        .map(|function| InvokePermission {
                            function,
                            principal: API_GATEWAY.into(),
                            source_arn: Some(execute_api(&api, "authorizers/*")),
                        })
                        .collect::<Vec<_>>()
                });
        explicit.chain(authorizers).collect()
    }
}
