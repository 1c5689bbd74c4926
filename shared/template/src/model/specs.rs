//! What the template declares, as the offline stack builds it: functions, the authorizer, the
//! table, buses and archives, secrets and state machines.

use crate::Expr;
use cartwheel_routes::RouteDecl;

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
