//! Creates what template.yaml declares, idempotently: a second start finds it all in place.

use crate::Cause;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use cartwheel_template::{KeyAttribute, SecretSpec, TableSpec};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The call failed: the SDK's (or serde's, or hyper's) error is the source.
    #[error("could not create {what}")]
    Call {
        what: String,
        #[source]
        source: Cause,
    },
    /// The emulator answered, but not with what was asked for: the detail says how.
    #[error("could not create {what}: {detail}")]
    Create { what: String, detail: String },
    #[error("template.yaml declares something the offline stack cannot build: {0}")]
    Unsupported(String),
}

pub(crate) fn failed(
    what: impl Into<String>,
    error: impl std::error::Error + Send + Sync + 'static,
) -> ProvisionError {
    ProvisionError::Call {
        what: what.into(),
        source: error.into(),
    }
}

fn key_schema(keys: &[KeyAttribute]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| ProvisionError::Unsupported(e.to_string()))
        })
        .collect()
}

/// Creates the table `name` as `spec` describes it (keys, GSIs, stream, TTL).
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    spec: &TableSpec,
) -> Result<(), ProvisionError> {
    let unsupported =
        |e: aws_sdk_dynamodb::error::BuildError| ProvisionError::Unsupported(e.to_string());
    let attributes = spec
        .attributes
        .iter()
        .map(|(attr, kind)| {
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(unsupported)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let indexes = spec
        .indexes
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .set_non_key_attributes(
                            (!index.non_key_attributes.is_empty())
                                .then(|| index.non_key_attributes.clone()),
                        )
                        .build(),
                )
                .build()
                .map_err(unsupported)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stream = spec.stream_view_type.as_deref().map(|view| {
        StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::from(view))
            .build()
    });
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&spec.key_schema)?))
        .set_global_secondary_indexes(Some(indexes).filter(|i| !i.is_empty()))
        .set_stream_specification(stream.transpose().map_err(unsupported)?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(())
        }
        Err(e) => return Err(failed(format!("table {name}"), e)),
    }
    if let Some(attribute) = &spec.ttl_attribute {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(unsupported)?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| failed(format!("TTL on {name}"), e))?;
    }
    Ok(())
}

/// The table's ARN and its stream's, as the emulator names them.
pub async fn table_arns(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(String, String), ProvisionError> {
    let table = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| failed(format!("table {name}"), e))?
        .table
        .ok_or_else(|| ProvisionError::Unsupported(format!("table {name} is not described")))?;
    Ok((
        table.table_arn.unwrap_or_default(),
        table.latest_stream_arn.unwrap_or_default(),
    ))
}

fn already_exists(code: Option<&str>) -> bool {
    code == Some("ResourceAlreadyExistsException")
}

/// The value AWS stores: the password, or the template's JSON object with the password added
/// under `GenerateStringKey`.
fn secret_value(secret: &SecretSpec, password: &str) -> Result<String, serde_json::Error> {
    let Some((template, key)) = &secret.template else {
        return Ok(password.to_owned());
    };
    let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(template)?;
    object.insert(key.clone(), password.into());
    serde_json::to_string(&object)
}

/// Creates the secret `name` with a value generated as AWS would (moto's `GetRandomPassword`), or
/// keeps the one a previous start created, so tokens it signed stay valid. Returns its ARN.
pub async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    secret: &SecretSpec,
) -> Result<String, ProvisionError> {
    let what = || format!("secret {name}");
    let value = client
        .get_random_password()
        .password_length(i64::from(secret.length))
        .exclude_punctuation(secret.exclude_punctuation)
        .send()
        .await
        .map_err(|e| failed(what(), e))?;
    let password = value.random_password().unwrap_or_default();
    let created = client
        .create_secret()
        .name(name)
        .secret_string(secret_value(secret, password).map_err(|e| failed(what(), e))?)
        .send()
        .await;
    let arn = match created {
        Ok(created) => created.arn,
        Err(e) if e.code() == Some("ResourceExistsException") => {
            let existing = client.describe_secret().secret_id(name).send().await;
            existing.map_err(|e| failed(what(), e))?.arn
        }
        Err(e) => return Err(failed(what(), e)),
    };
    arn.ok_or_else(|| ProvisionError::Create {
        what: what(),
        detail: "Secrets Manager answered without the secret's ARN".into(),
    })
}

/// Declares the SES identity `identity` (an address or a domain). moto verifies it at once, as AWS
/// does once its owner clicks the link; the identity is the account's, so every stack shares it.
pub async fn create_email_identity(
    client: &aws_sdk_sesv2::Client,
    identity: &str,
) -> Result<(), ProvisionError> {
    match client
        .create_email_identity()
        .email_identity(identity)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(failed(format!("SES identity {identity}"), e)),
    }
}

/// Creates the event bus `name` and, if `archive` names one, the archive of its events.
pub async fn create_bus(
    client: &aws_sdk_eventbridge::Client,
    name: &str,
    archive: Option<&str>,
) -> Result<String, ProvisionError> {
    let arn = match client.create_event_bus().name(name).send().await {
        Ok(created) => created.event_bus_arn,
        Err(e) if already_exists(e.code()) => None,
        Err(e) => return Err(failed(format!("event bus {name}"), e)),
    };
    let arn = match arn {
        Some(arn) => arn,
        None => client
            .describe_event_bus()
            .name(name)
            .send()
            .await
            .map_err(|e| failed(format!("event bus {name}"), e))?
            .arn
            .unwrap_or_default(),
    };
    if let Some(archive) = archive {
        match client
            .create_archive()
            .archive_name(archive)
            .event_source_arn(&arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if already_exists(e.code()) => {}
            Err(e) => return Err(failed(format!("archive {archive}"), e)),
        }
    }
    Ok(arn)
}

/// The name everything of `stack` gets offline: stacks share the emulators without meeting.
pub fn offline_name(stack: &str, logical_id: &str) -> String {
    format!("{stack}-{logical_id}")
}

/// Creates (or updates) a rule on `bus` that sends matching events to `targets` (queue ARNs).
/// Returns the rule's ARN.
pub async fn create_rule(
    client: &aws_sdk_eventbridge::Client,
    bus: &str,
    name: &str,
    pattern: &serde_json::Value,
    targets: &[(String, String)],
) -> Result<String, ProvisionError> {
    let rule_arn = client
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|e| failed(format!("rule {name}"), e))?
        .rule_arn
        .unwrap_or_default();
    if targets.is_empty() {
        return Ok(rule_arn);
    }
    let targets = targets
        .iter()
        .map(|(id, arn)| {
            aws_sdk_eventbridge::types::Target::builder()
                .id(id)
                .arn(arn)
                .build()
                .map_err(|e| ProvisionError::Unsupported(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let put = client
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .set_targets(Some(targets))
        .send()
        .await
        .map_err(|e| failed(format!("targets of rule {name}"), e))?;
    if put.failed_entry_count > 0 {
        return Err(ProvisionError::Create {
            what: format!("targets of rule {name}"),
            detail: format!("{:?}", put.failed_entries),
        });
    }
    Ok(rule_arn)
}

/// The ARN a function gets offline; the AWS edge maps it back to the stack and the handler.
pub fn offline_function_arn(region: &str, account: &str, stack: &str, function: &str) -> String {
    format!(
        "arn:aws:lambda:{region}:{account}:function:{}",
        offline_name(stack, function)
    )
}

/// Creates (or updates) the state machine from its ASL file, substituting each function's ARN as
/// `DefinitionSubstitutions` does in AWS. Returns its ARN.
pub async fn create_state_machine(
    client: &aws_sdk_sfn::Client,
    stack: &str,
    spec: &cartwheel_template::StateMachineSpec,
    definition: &str,
    (region, account): (&str, &str),
) -> Result<String, ProvisionError> {
    let definition =
        spec.function_arns
            .iter()
            .fold(definition.to_owned(), |text, (key, function)| {
                text.replace(
                    &format!("${{{key}}}"),
                    &offline_function_arn(region, account, stack, function),
                )
            });
    let role = "arn:aws:iam::000000000000:role/cartwheel-offline-state-machine";
    let name = offline_name(stack, &spec.logical_id);
    let what = || format!("state machine {name}");
    match client
        .create_state_machine()
        .name(&name)
        .definition(&definition)
        .role_arn(role)
        .send()
        .await
    {
        Ok(created) => Ok(created.state_machine_arn),
        Err(e) if e.code() == Some("StateMachineAlreadyExists") => {
            let arn = format!("arn:aws:states:{region}:{account}:stateMachine:{name}");
            let listed = client
                .list_state_machines()
                .send()
                .await
                .map_err(|e| failed(what(), e))?;
            let arn = listed
                .state_machines
                .into_iter()
                .find(|m| m.name == name)
                .map_or(arn, |m| m.state_machine_arn);
            client
                .update_state_machine()
                .state_machine_arn(&arn)
                .definition(definition)
                .send()
                .await
                .map_err(|e| failed(what(), e))?;
            Ok(arn)
        }
        Err(e) => Err(failed(what(), e)),
    }
}

/// moto only records executions until its engine is switched on.
pub async fn enable_moto_execution(moto_url: &str) -> Result<(), ProvisionError> {
    use http_body_util::Full;
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let body = r#"{"stepfunctions":{"execute_state_machine":true}}"#;
    let request = hyper::Request::post(format!("{moto_url}/moto-api/config"))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from_static(body.as_bytes())))
        .map_err(|e| ProvisionError::Unsupported(e.to_string()))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| failed("moto's Step Functions execution switch", e))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(ProvisionError::Create {
            what: "moto's Step Functions execution switch".into(),
            detail: response.status().to_string(),
        })
    }
}
