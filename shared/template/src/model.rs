use crate::Expr;
use cartwheel_routes::{RouteDecl, RouteTable};
use serde_yaml::{Mapping, Value};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

/// One `AWS::Serverless::Function` and the HTTP routes that invoke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub logical_id: String,
    /// The cargo binary that `sam build` (cargo-lambda) packages for it.
    pub binary: String,
    pub routes: Vec<RouteDecl>,
    /// What else invokes it: queues, the table's stream, schedules.
    pub triggers: Vec<crate::Trigger>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    pub name: String,
    pub function: String,
    pub identity_headers: Vec<String>,
    pub ttl_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<KeyAttribute>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    /// What an `INCLUDE` projection carries besides the keys.
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    /// Attribute name and scalar type (`S`, `N`, `B`).
    pub attributes: Vec<(String, String)>,
    pub key_schema: Vec<KeyAttribute>,
    pub indexes: Vec<IndexSpec>,
    pub stream_view_type: Option<String>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusSpec {
    pub logical_id: String,
    /// Its `Name`, for the offline stack to resolve as CloudFormation would.
    pub name: Option<Expr>,
    /// The archive that keeps its events, if one does.
    pub archive: Option<ArchiveSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSpec {
    pub logical_id: String,
    /// Its `ArchiveName`, unresolved.
    pub name: Option<Expr>,
}

/// An `AWS::SecretsManager::Secret` whose value AWS generates (`GenerateSecretString`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub logical_id: String,
    pub length: u32,
    pub exclude_punctuation: bool,
    /// `SecretStringTemplate` and `GenerateStringKey`: the value is that JSON object with the
    /// generated password added under that key.
    pub template: Option<(String, String)>,
}

/// An `AWS::Serverless::StateMachine` and the functions its definition's `${...}` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineSpec {
    pub logical_id: String,
    pub definition_uri: String,
    /// Substitution key and the logical id of the function whose ARN it stands for.
    pub function_arns: Vec<(String, String)>,
}

pub struct Template {
    resources: Mapping,
    parameters: Mapping,
    pub(crate) conditions: Mapping,
    pub(crate) globals: Value,
}

pub(crate) fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping()?.get(key)
}

pub(crate) fn text(value: &Value, key: &str) -> Option<String> {
    get(value, key)?.as_str().map(str::to_owned)
}

pub(crate) fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    get(value, key)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// The logical id that `!GetAtt Id.Arn` or `!Ref Id` names.
pub(crate) fn referenced_id(value: &Value) -> Option<String> {
    let Value::Tagged(tagged) = value else {
        return None;
    };
    let target = tagged.value.as_str()?;
    Some(target.split('.').next().unwrap_or(target).to_owned())
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

fn key_schema(value: &Value) -> Vec<KeyAttribute> {
    list(value, "KeySchema")
        .iter()
        .filter_map(|k| {
            Some(KeyAttribute {
                name: text(k, "AttributeName")?,
                key_type: text(k, "KeyType")?,
            })
        })
        .collect()
}

impl Template {
    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml::from_str(yaml)?;
        let section = |name: &str| get(&root, name).and_then(Value::as_mapping).cloned();
        let resources = section("Resources").ok_or_else(|| shape("no Resources section"))?;
        refuse_conditions_offline(&resources)?;
        let conditions = section("Conditions").unwrap_or_default();
        crate::conditions::refuse_undeclared(&resources, &conditions)?;
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

    pub fn functions(&self) -> Result<Vec<Function>, TemplateError> {
        self.resources_of_type("AWS::Serverless::Function")
            .map(|(logical_id, resource)| {
                let binary = get(resource, "Metadata")
                    .and_then(|m| get(m, "BuildProperties"))
                    .and_then(|b| text(b, "Binary"))
                    .ok_or_else(|| {
                        shape(format!(
                            "{logical_id} has no Metadata.BuildProperties.Binary"
                        ))
                    })?;
                let events = get(resource, "Properties").and_then(|p| get(p, "Events"));
                let routes = events
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flat_map(|events| events.values())
                    .filter(|event| text(event, "Type").as_deref() == Some("HttpApi"))
                    .map(|event| {
                        let props = get(event, "Properties").cloned().unwrap_or_default();
                        RouteDecl {
                            method: text(&props, "Method").map(|m| m.to_ascii_uppercase()),
                            path: text(&props, "Path"),
                            authorizer: get(&props, "Auth").and_then(|a| text(a, "Authorizer")),
                        }
                    })
                    .collect();
                let triggers = self.triggers(&logical_id, events)?;
                Ok(Function {
                    logical_id,
                    binary,
                    routes,
                    triggers,
                })
            })
            .collect()
    }

    /// The HTTP API's routes, as API Gateway matches them.
    pub fn route_table(&self) -> Result<RouteTable, TemplateError> {
        let functions = self.functions()?;
        Ok(RouteTable::new(functions.iter().flat_map(|f| {
            f.routes
                .iter()
                .map(move |route| (f.logical_id.as_str(), route))
        })))
    }

    pub fn authorizers(&self) -> Vec<Authorizer> {
        let declared = self
            .resources_of_type("AWS::Serverless::HttpApi")
            .filter_map(|(_, api)| get(api, "Properties").and_then(|p| get(p, "Auth")))
            .filter_map(|auth| get(auth, "Authorizers").and_then(Value::as_mapping))
            .flat_map(|authorizers| authorizers.iter());
        declared
            .filter_map(|(name, spec)| {
                let identity = get(spec, "Identity");
                Some(Authorizer {
                    name: name.as_str()?.to_owned(),
                    function: referenced_id(get(spec, "FunctionArn")?)?,
                    identity_headers: identity
                        .map(|i| {
                            list(i, "Headers")
                                .iter()
                                .filter_map(|h| h.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    ttl_seconds: identity
                        .and_then(|i| get(i, "ReauthorizeEvery"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    pub fn table(&self) -> Result<TableSpec, TemplateError> {
        let mut tables = self.resources_of_type("AWS::DynamoDB::Table");
        let (logical_id, table) = tables
            .next()
            .ok_or_else(|| shape("no AWS::DynamoDB::Table"))?;
        if tables.next().is_some() {
            return Err(shape(
                "Cartwheel is single-table: more than one AWS::DynamoDB::Table",
            ));
        }
        let props = get(table, "Properties").ok_or_else(|| shape("the table has no Properties"))?;
        Ok(TableSpec {
            logical_id,
            attributes: list(props, "AttributeDefinitions")
                .iter()
                .filter_map(|a| Some((text(a, "AttributeName")?, text(a, "AttributeType")?)))
                .collect(),
            key_schema: key_schema(props),
            indexes: list(props, "GlobalSecondaryIndexes")
                .iter()
                .filter_map(|index| {
                    Some(IndexSpec {
                        name: text(index, "IndexName")?,
                        key_schema: key_schema(index),
                        projection: get(index, "Projection")
                            .and_then(|p| text(p, "ProjectionType"))
                            .unwrap_or_else(|| "ALL".into()),
                        non_key_attributes: get(index, "Projection")
                            .map(|p| list(p, "NonKeyAttributes"))
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|a| a.as_str().map(str::to_owned))
                            .collect(),
                    })
                })
                .collect(),
            stream_view_type: get(props, "StreamSpecification")
                .and_then(|s| text(s, "StreamViewType")),
            ttl_attribute: get(props, "TimeToLiveSpecification")
                .and_then(|t| text(t, "AttributeName")),
        })
    }

    pub fn buses(&self) -> Vec<BusSpec> {
        let property = |resource: &Value, key: &str| {
            get(resource, "Properties")
                .and_then(|p| get(p, key))
                .and_then(Expr::parse)
        };
        self.resources_of_type("AWS::Events::EventBus")
            .map(|(logical_id, bus)| {
                let archive = self
                    .resources_of_type("AWS::Events::Archive")
                    .find(|(_, archive)| {
                        get(archive, "Properties")
                            .and_then(|p| get(p, "SourceArn"))
                            .and_then(referenced_id)
                            .is_some_and(|source| source == logical_id)
                    })
                    .map(|(id, archive)| ArchiveSpec {
                        name: property(archive, "ArchiveName"),
                        logical_id: id,
                    });
                BusSpec {
                    name: property(bus, "Name"),
                    archive,
                    logical_id,
                }
            })
            .collect()
    }

    /// The generated secrets; a secret with a value of its own would be a secret in the template.
    pub fn secrets(&self) -> Vec<SecretSpec> {
        self.resources_of_type("AWS::SecretsManager::Secret")
            .filter_map(|(logical_id, secret)| {
                let generate = get(get(secret, "Properties")?, "GenerateSecretString")?;
                Some(SecretSpec {
                    logical_id,
                    length: get(generate, "PasswordLength")
                        .and_then(Value::as_u64)
                        .map_or(32, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                    exclude_punctuation: get(generate, "ExcludePunctuation")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    template: text(generate, "SecretStringTemplate")
                        .zip(text(generate, "GenerateStringKey")),
                })
            })
            .collect()
    }

    pub fn state_machines(&self) -> Vec<StateMachineSpec> {
        self.resources_of_type("AWS::Serverless::StateMachine")
            .filter_map(|(logical_id, machine)| {
                let props = get(machine, "Properties")?;
                let function_arns = get(props, "DefinitionSubstitutions")
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flatten()
                    .filter_map(|(key, value)| {
                        Some((key.as_str()?.to_owned(), referenced_id(value)?))
                    })
                    .collect();
                Some(StateMachineSpec {
                    logical_id,
                    definition_uri: text(props, "DefinitionUri")?,
                    function_arns,
                })
            })
            .collect()
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

    fn template() -> Template {
        Template::parse(crate::EMBEDDED).expect("template.yaml parses")
    }

    #[test]
    fn reads_functions_with_their_routes() {
        let functions = template().functions().unwrap();
        let get_product = functions
            .iter()
            .find(|f| f.logical_id == "GetProductFunction")
            .unwrap();
        assert_eq!(get_product.binary, "get-product");
        assert_eq!(
            get_product.routes,
            vec![RouteDecl {
                method: Some("GET".into()),
                path: Some("/products/{productId}".into()),
                authorizer: None
            }]
        );
        let default = functions
            .iter()
            .find(|f| f.logical_id == "RouteNotFoundFunction")
            .unwrap();
        assert_eq!(
            default.routes,
            vec![RouteDecl {
                method: None,
                path: None,
                authorizer: None
            }]
        );
    }

    #[test]
    fn reads_the_authorizer_table_and_bus() {
        let t = template();
        let authorizers = t.authorizers();
        assert_eq!(authorizers.len(), 1);
        assert_eq!(authorizers[0].function, "AuthorizerFunction");
        assert_eq!(
            authorizers[0].identity_headers,
            vec!["Authorization".to_owned()]
        );
        assert!(
            authorizers[0].ttl_seconds > 0,
            "the authorizer's result cache is configured"
        );
        let table = t.table().unwrap();
        assert_eq!(table.key_schema[0].name, "PK");
        assert_eq!(table.indexes.len(), 3);
        assert_eq!(table.indexes[2].projection, "INCLUDE");
        assert_eq!(table.indexes[2].non_key_attributes, ["id"]);
        let bus = &t.buses()[0];
        assert_eq!(bus.name, Some(Expr::Sub("${AWS::StackName}-events".into())));
        let archive = bus.archive.as_ref().expect("the bus is archived");
        assert!(matches!(archive.name, Some(Expr::Join(..))));
    }

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
