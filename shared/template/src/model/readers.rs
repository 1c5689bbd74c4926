//! The template's resources read into their specs (`specs.rs`).

use super::{
    document::{shape, Template, TemplateError},
    specs::{
        ArchiveSpec, Authorizer, BusSpec, Function, IndexSpec, KeyAttribute, SecretSpec,
        StateMachineSpec, TableSpec,
    },
    yaml::{get, list, referenced_id, text},
};
use crate::Expr;
use cartwheel_routes::{RouteDecl, RouteTable};
use serde_yaml::Value;

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
}
