//! The parsed template and its generic parts: errors, resources by id and type, properties, and
//! parameters. It refuses conditions the offline stack cannot evaluate, and undeclared ones.

use super::yaml::{get, text};
use crate::Expr;
use serde_yaml::{Mapping, Value};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

pub(super) fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

pub struct Template {
    resources: Mapping,
    parameters: Mapping,
    pub(crate) conditions: Mapping,
    pub(crate) globals: Value,
}

/// Only resources the offline stack does not build may have a `Condition`, and those whose builder
/// evaluates it (`Template::creates`): it never builds what AWS would leave out, nor leaves out
/// what AWS would build.
const MAY_BE_CONDITIONAL: [&str; 8] = [
    "AWS::SES::EmailIdentity",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::Distribution",
    "AWS::WAFv2::WebACL",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::LogGroup",
];

fn refuse_conditions_offline(resources: &Mapping) -> Result<(), TemplateError> {
    for (id, resource) in resources {
        let kind = text(resource, "Type").unwrap_or_default();
        if get(resource, "Condition").is_some() && !MAY_BE_CONDITIONAL.contains(&kind.as_str()) {
            return Err(shape(format!(
                "{}: a {kind} with a Condition, which the offline stack cannot evaluate",
                id.as_str().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// Every `Condition` a resource names is declared (CloudFormation refuses the template otherwise).
fn refuse_undeclared(resources: &Mapping, declared: &Mapping) -> Result<(), TemplateError> {
    for (id, resource) in resources {
        if let Some(name) = get(resource, "Condition").and_then(Value::as_str) {
            if !declared.contains_key(name) {
                return Err(shape(format!(
                    "{}: the Condition {name} is not declared",
                    id.as_str().unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

impl Template {
    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml::from_str(yaml)?;
        let section = |name: &str| get(&root, name).and_then(Value::as_mapping).cloned();
        let resources = section("Resources").ok_or_else(|| shape("no Resources section"))?;
        refuse_conditions_offline(&resources)?;
        let conditions = section("Conditions").unwrap_or_default();
        refuse_undeclared(&resources, &conditions)?;
        Ok(Self {
            resources,
            conditions,
            parameters: section("Parameters").unwrap_or_default(),
            globals: Value::Mapping(section("Globals").unwrap_or_default()),
        })
    }

    pub(crate) fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.resources.get(logical_id)
    }

    pub(crate) fn resources_of_type<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, resource)| text(resource, "Type").as_deref() == Some(kind))
            .map(|(id, resource)| (id.as_str().unwrap_or_default().to_owned(), resource))
    }

    /// Every resource's logical id and type.
    pub fn resource_types(&self) -> Vec<(String, String)> {
        self.resources
            .iter()
            .filter_map(|(id, resource)| Some((id.as_str()?.to_owned(), text(resource, "Type")?)))
            .collect()
    }

    /// The logical ids of the resources of type `kind`, in template order.
    pub fn ids_of_type(&self, kind: &str) -> Vec<String> {
        self.resources_of_type(kind).map(|(id, _)| id).collect()
    }

    /// A resource's property at `path` (keys into its `Properties`, joined by dots), as a literal
    /// or an intrinsic.
    pub fn property(&self, logical_id: &str, path: &str) -> Option<Expr> {
        self.property_value(logical_id, path).and_then(Expr::parse)
    }

    /// The entries of a list property; none when it is not set.
    pub fn property_list(&self, logical_id: &str, path: &str) -> Vec<Expr> {
        self.property_value(logical_id, path)
            .and_then(Value::as_sequence)
            .map_or_else(Vec::new, |entries| {
                entries.iter().filter_map(Expr::parse).collect()
            })
    }

    fn property_value(&self, logical_id: &str, path: &str) -> Option<&Value> {
        let properties = get(self.resource(logical_id)?, "Properties")?;
        path.split('.')
            .try_fold(properties, |value, key| get(value, key))
    }

    /// Each parameter's `Default`, where it has one.
    pub fn parameter_defaults(&self) -> std::collections::HashMap<String, String> {
        self.parameters
            .iter()
            .filter_map(|(name, spec)| {
                let default = match get(spec, "Default")? {
                    Value::Number(n) => n.to_string(),
                    other => other.as_str()?.to_owned(),
                };
                Some((name.as_str()?.to_owned(), default))
            })
            .collect()
    }

    pub(crate) fn parameter_names(&self) -> impl Iterator<Item = &str> {
        self.parameters.keys().filter_map(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_on_a_resource_the_offline_stack_builds_is_refused() {
        let template = |kind: &str, condition: &str| {
            Template::parse(&format!(
                "Conditions:\n  Sometimes: !Equals [a, b]\nResources:\n  R:\n    Type: {kind}\n    Condition: {condition}\n"
            ))
        };
        let condition = "Sometimes";
        assert!(template("AWS::SNS::Subscription", condition).is_ok());
        let undeclared = template("AWS::SNS::Subscription", "Never")
            .err()
            .expect("refused");
        assert!(undeclared.to_string().contains("Never is not declared"));
        let refused = template("AWS::SQS::Queue", condition)
            .err()
            .expect("refused");
        assert!(refused
            .to_string()
            .contains("R: a AWS::SQS::Queue with a Condition"));
    }
}
