//! Lambda resource policies: who may invoke a function. A service invokes a function only if the
//! function's resource policy lets it: the template's `AWS::Lambda::Permission`s, and the ones SAM
//! generates (an `HttpApi` event's, a `Schedule` event's, and an `HttpApi` authorizer's when it
//! says `EnableFunctionDefaultPermissions: true`; SAM adds none for an authorizer otherwise). The
//! local runtime's `expanded` test compares these with what the SAM translator generates.

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
const EVENTS: &str = "events.amazonaws.com";

/// The rule SAM generates for a function's `Schedule` event: `<function><event>`.
pub fn schedule_rule(function: &str, event: &str) -> String {
    format!("{function}{event}")
}

/// The route part of an `HttpApi` event's source ARN, as SAM writes it: a path parameter
/// matches any value, `ANY` any method, and the `$default` route anything.
fn route_pattern(method: &str, path: &str) -> String {
    if path == "$default" {
        return "*".into();
    }
    let path: Vec<String> = path
        .split('/')
        .map(|segment| {
            let param = segment.starts_with('{') && segment.ends_with('}');
            if param {
                "*".into()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    let method = match method.to_ascii_uppercase().as_str() {
        "ANY" => "*".to_owned(),
        other => other.to_owned(),
    };
    format!("{method}{}", path.join("/"))
}

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
        explicit
            .chain(authorizers)
            .chain(self.event_permissions())
            .collect()
    }

    /// What SAM generates for each function's `HttpApi` and `Schedule` events.
    fn event_permissions(&self) -> Vec<InvokePermission> {
        let mut permissions = Vec::new();
        for (function, resource) in self.resources_of_type("AWS::Serverless::Function") {
            let events = get(resource, "Properties")
                .and_then(|p| get(p, "Events"))
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default();
            for (name, event) in &events {
                let props = get(event, "Properties");
                let setting = |key| props.and_then(|p| text(p, key));
                let (principal, source_arn) = match text(event, "Type").as_deref() {
                    Some("HttpApi") => {
                        let api = props
                            .and_then(|p| get(p, "ApiId"))
                            .and_then(referenced_id)
                            .unwrap_or_else(|| "ServerlessHttpApi".into());
                        let route = route_pattern(
                            &setting("Method").unwrap_or_else(|| "ANY".into()),
                            &setting("Path").unwrap_or_else(|| "$default".into()),
                        );
                        (API_GATEWAY, execute_api(&api, &format!("*/{route}")))
                    }
                    Some("Schedule") => {
                        let rule = schedule_rule(&function, name.as_str().unwrap_or_default());
                        (EVENTS, Expr::GetAtt(rule, "Arn".into()))
                    }
                    _ => continue,
                };
                permissions.push(InvokePermission {
                    function: function.clone(),
                    principal: principal.into(),
                    source_arn: Some(source_arn),
                });
            }
        }
        permissions
    }
}

#[cfg(test)]
mod tests {
    use super::route_pattern;

    #[test]
    fn a_route_s_source_arn_matches_its_parameters_methods_and_the_default_route() {
        assert_eq!(route_pattern("get", "/products/{id}"), "GET/products/*");
        assert_eq!(
            route_pattern("POST", "/orders/{id}/cancel"),
            "POST/orders/*/cancel"
        );
        assert_eq!(route_pattern("ANY", "/health"), "*/health");
        assert_eq!(route_pattern("ANY", "$default"), "*");
    }
}
