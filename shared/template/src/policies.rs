//! Who may do what, as template.yaml declares it: each function's `Policies` (inline statements,
//! SAM policy templates, managed policies) and its runtime settings, the state machine's policies,
//! IAM roles (the pipe's) and queue policies. Values stay intrinsics (`Expr`) until the offline
//! stack resolves them to the ARNs it created.

use crate::model::{get, list, text, Template};
use serde_yaml::{value::Tag, Value};

/// A value that CloudFormation resolves at deploy time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Literal(String),
    /// `!Ref Id`.
    Ref(String),
    /// `!GetAtt Id.Attribute`.
    GetAtt(String, String),
    /// `!Sub "...${Id}...${Id.Attribute}..."`.
    Sub(String),
    /// `!Join [delimiter, [parts]]`.
    Join(String, Vec<Expr>),
    /// `!Select [index, list]`: the list is a `Split`, the only list Cartwheel selects from.
    Select(usize, Box<Expr>),
    /// `!Split [delimiter, source]`: a list, so it stands only inside a `Select`.
    Split(String, Box<Expr>),
    /// `!If [condition, then, else]`.
    If(String, Box<Expr>, Box<Expr>),
}

/// The arguments of `!Join`, `!Select` and `!Split`: a delimiter or an index, then an expression.
fn pair(arguments: &Value) -> Option<(&Value, &Value)> {
    match arguments.as_sequence()?.as_slice() {
        [first, second] => Some((first, second)),
        _ => None,
    }
}

impl Expr {
    pub fn parse(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Self::Literal(s.clone())),
            Value::Number(n) => Some(Self::Literal(n.to_string())),
            Value::Tagged(tagged) => Self::intrinsic(&tagged.tag, &tagged.value),
            _ => None,
        }
    }

    fn intrinsic(tag: &Tag, arguments: &Value) -> Option<Self> {
        let name = tag.to_string();
        if let Some(inner) = arguments.as_str() {
            return match name.as_str() {
                "!Ref" => Some(Self::Ref(inner.to_owned())),
                "!GetAtt" => {
                    let (id, attribute) = inner.split_once('.')?;
                    Some(Self::GetAtt(id.to_owned(), attribute.to_owned()))
                }
                "!Sub" => Some(Self::Sub(inner.to_owned())),
                _ => None,
            };
        }
        if let ("!If", Some([condition, then, otherwise])) =
            (name.as_str(), arguments.as_sequence().map(Vec::as_slice))
        {
            return Some(Self::If(
                condition.as_str()?.to_owned(),
                Box::new(Self::parse(then)?),
                Box::new(Self::parse(otherwise)?),
            ));
        }
        let (first, second) = pair(arguments)?;
        match name.as_str() {
            "!Join" => Some(Self::Join(
                first.as_str()?.to_owned(),
                second
                    .as_sequence()?
                    .iter()
                    .map(Self::parse)
                    .collect::<Option<_>>()?,
            )),
            "!Select" => Some(Self::Select(
                usize::try_from(first.as_u64()?).ok()?,
                Box::new(Self::parse(second)?),
            )),
            "!Split" => Some(Self::Split(
                first.as_str()?.to_owned(),
                Box::new(Self::parse(second)?),
            )),
            _ => None,
        }
    }
}

/// Whether a statement grants or forbids; an explicit `Deny` wins over every `Allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement of an identity policy, as written: `Action` or `NotAction`, `Resource` or
/// `NotResource`, and the `Condition` operator/key pairs it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSpec {
    pub effect: Effect,
    pub actions: Vec<String>,
    /// `NotAction`: the statement covers every action but `actions`.
    pub not_action: bool,
    pub resources: Vec<Expr>,
    /// `NotResource`: the statement covers every resource but `resources`.
    pub not_resource: bool,
    /// Each `Operator key` of its `Condition`.
    pub conditions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyEntry {
    /// An AWS managed policy, by name or ARN (which may be an intrinsic).
    Managed(Expr),
    /// A SAM policy template and its parameters.
    SamTemplate {
        name: String,
        parameters: Vec<(String, Expr)>,
    },
    Statements(Vec<StatementSpec>),
    /// A policy this code cannot read: what is wrong with it. The offline stack refuses it,
    /// rather than leave out what it would have granted or forbidden.
    Unreadable(String),
}

/// A statement of a resource policy, here a queue policy for a service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePolicySpec {
    pub logical_id: String,
    pub queues: Vec<Expr>,
    pub service: Option<String>,
    pub actions: Vec<String>,
    pub resources: Vec<Expr>,
    /// `ArnEquals aws:SourceArn`, if the statement has that condition.
    pub source_arns: Option<Vec<Expr>>,
    /// What else the statement says that the offline stack does not evaluate (another condition,
    /// a `Deny`), which it refuses rather than ignore.
    pub unsupported: Vec<String>,
}

/// The queue policy condition the offline stack evaluates.
const SOURCE_ARN: &str = "ArnEquals aws:SourceArn";

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Sequence(many)) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn exprs(value: Option<&Value>) -> Vec<Expr> {
    match value {
        Some(Value::Sequence(many)) => many.iter().filter_map(Expr::parse).collect(),
        Some(one) => Expr::parse(one).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A policy document's statements: `Statement` may be a list or a single object.
fn statement_values(document: &Value) -> &[Value] {
    match get(document, "Statement") {
        Some(Value::Sequence(many)) => many,
        Some(one @ Value::Mapping(_)) => std::slice::from_ref(one),
        _ => &[],
    }
}

/// `key` or `not_key` of a statement, and which of the two it was.
fn either<'a>(s: &'a Value, key: &str, not_key: &str) -> Result<(Option<&'a Value>, bool), String> {
    match (get(s, key), get(s, not_key)) {
        (Some(_), Some(_)) => Err(format!("a statement has both {key} and {not_key}")),
        (Some(v), None) => Ok((Some(v), false)),
        (None, v) => Ok((v, v.is_some())),
    }
}

/// Each `Operator key` pair of a statement's `Condition`.
fn conditions(s: &Value) -> Vec<String> {
    get(s, "Condition")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .flat_map(|(operator, keys)| {
            let operator = operator.as_str().unwrap_or("?").to_owned();
            let keys: Vec<String> = keys
                .as_mapping()
                .into_iter()
                .flatten()
                .map(|(key, _)| format!("{operator} {}", key.as_str().unwrap_or("?")))
                .collect();
            if keys.is_empty() {
                vec![operator]
            } else {
                keys
            }
        })
        .collect()
}

fn statement(s: &Value) -> Result<StatementSpec, String> {
    let effect = match text(s, "Effect").as_deref() {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(format!("a statement's Effect is {other:?}")),
    };
    let (actions, not_action) = either(s, "Action", "NotAction")?;
    let (resources, not_resource) = either(s, "Resource", "NotResource")?;
    let resources = match resources {
        Some(Value::Sequence(many)) => many.iter().map(Expr::parse).collect(),
        Some(one) => Expr::parse(one).map(|e| vec![e]),
        None => Some(Vec::new()),
    }
    .ok_or_else(|| {
        format!(
            "a resource of {:?} is not an intrinsic this code reads",
            strings(actions)
        )
    })?;
    let conditions = conditions(s);
    Ok(StatementSpec {
        effect,
        actions: strings(actions),
        not_action,
        resources,
        not_resource,
        conditions,
    })
}

fn statements(document: &Value) -> PolicyEntry {
    match statement_values(document).iter().map(statement).collect() {
        Ok(statements) => PolicyEntry::Statements(statements),
        Err(reason) => PolicyEntry::Unreadable(reason),
    }
}

fn entry(value: &Value) -> Option<PolicyEntry> {
    if value.as_mapping().is_none() {
        return Some(match Expr::parse(value) {
            Some(name) => PolicyEntry::Managed(name),
            None => PolicyEntry::Unreadable(format!("a managed policy {value:?}")),
        });
    }
    let mapping = value.as_mapping()?;
    if mapping.contains_key("Statement") {
        return Some(statements(value));
    }
    let (name, parameters) = mapping.iter().next()?;
    Some(PolicyEntry::SamTemplate {
        name: name.as_str()?.to_owned(),
        parameters: parameters
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), Expr::parse(v)?)))
            .collect(),
    })
}

impl Template {
    fn properties(&self, logical_id: &str) -> Option<&Value> {
        self.resource(logical_id).and_then(|r| get(r, "Properties"))
    }

    /// The `Policies` of a function or state machine, as declared.
    pub fn policies(&self, logical_id: &str) -> Vec<PolicyEntry> {
        let declared = self.properties(logical_id).and_then(|p| get(p, "Policies"));
        match declared {
            Some(Value::Sequence(entries)) => entries.iter().filter_map(entry).collect(),
            Some(one) => entry(one).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// An `AWS::IAM::Role`'s inline policies and managed policy ARNs.
    pub fn role_policies(&self, role: &str) -> Vec<PolicyEntry> {
        let Some(props) = self.properties(role) else {
            return Vec::new();
        };
        let inline = list(props, "Policies")
            .iter()
            .filter_map(|p| get(p, "PolicyDocument"))
            .map(statements);
        let managed = list(props, "ManagedPolicyArns").iter().filter_map(entry);
        inline.chain(managed).collect()
    }

    /// A function's `Timeout` in seconds (its own, else the Globals', else Lambda's 3).
    pub fn timeout_seconds(&self, function: &str) -> u64 {
        self.function_setting(function, "Timeout")
            .and_then(Value::as_u64)
            .unwrap_or(3)
    }

    /// A function's `ReservedConcurrentExecutions`, if it has one.
    /// `ReservedConcurrentExecutions`, a number or a `!Ref` to a parameter: resolve it with the
    /// stack's parameters.
    pub fn reserved_concurrency(&self, function: &str) -> Option<Expr> {
        self.function_setting(function, "ReservedConcurrentExecutions")
            .and_then(Expr::parse)
    }

    fn function_setting(&self, function: &str, key: &str) -> Option<&Value> {
        self.properties(function)
            .and_then(|p| get(p, key))
            .or_else(|| get(&self.globals, "Function").and_then(|f| get(f, key)))
    }

    pub fn queue_policies(&self) -> Vec<QueuePolicySpec> {
        self.resources_of_type("AWS::SQS::QueuePolicy")
            .flat_map(|(logical_id, policy)| {
                let props = get(policy, "Properties").cloned().unwrap_or_default();
                let queues = exprs(get(&props, "Queues"));
                let document = get(&props, "PolicyDocument").cloned().unwrap_or_default();
                statement_values(&document)
                    .iter()
                    .map(|s| QueuePolicySpec {
                        logical_id: logical_id.clone(),
                        queues: queues.clone(),
                        service: get(s, "Principal").and_then(|p| text(p, "Service")),
                        actions: strings(get(s, "Action")),
                        resources: exprs(get(s, "Resource")),
                        source_arns: get(s, "Condition")
                            .and_then(|c| get(c, "ArnEquals"))
                            .map(|a| exprs(get(a, "aws:SourceArn"))),
                        unsupported: conditions(s)
                            .into_iter()
                            .filter(|c| c != SOURCE_ARN)
                            .chain(
                                text(s, "Effect")
                                    .filter(|e| e != "Allow")
                                    .map(|e| format!("Effect {e}")),
                            )
                            .collect(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Option<Expr> {
        Expr::parse(&serde_yaml::from_str(yaml).expect("YAML"))
    }

    #[test]
    fn intrinsics_are_read_in_their_short_forms() {
        let stack_id = || Box::new(Expr::Ref("AWS::StackId".into()));
        assert_eq!(
            parse(r#"!Join ["-", ["cartwheel", !Select [2, !Split ["/", !Ref AWS::StackId]]]]"#),
            Some(Expr::Join(
                "-".into(),
                vec![
                    Expr::Literal("cartwheel".into()),
                    Expr::Select(2, Box::new(Expr::Split("/".into(), stack_id()))),
                ]
            ))
        );
        assert_eq!(
            parse("!GetAtt Table.StreamArn"),
            Some(Expr::GetAtt("Table".into(), "StreamArn".into()))
        );
        assert_eq!(parse("!Select [two, !Ref X]"), None);
        assert_eq!(
            parse("!If [HasX, a, !Ref B]"),
            Some(Expr::If(
                "HasX".into(),
                Box::new(Expr::Literal("a".into())),
                Box::new(Expr::Ref("B".into()))
            ))
        );
        assert_eq!(parse("!FindInMap [M, a, b]"), None);
    }

    fn policy(yaml: &str) -> PolicyEntry {
        entry(&serde_yaml::from_str(yaml).expect("YAML")).expect("an entry")
    }

    #[test]
    fn a_statement_may_be_one_object_and_say_deny_not_action_and_conditions() {
        let PolicyEntry::Statements(statements) = policy(
            "Statement:\n  Effect: Deny\n  NotAction: [sqs:SendMessage]\n  NotResource: '*'\n  Condition:\n    StringEquals: {aws:RequestedRegion: us-east-1}",
        ) else {
            panic!("statements");
        };
        assert_eq!(
            statements,
            [StatementSpec {
                effect: Effect::Deny,
                actions: vec!["sqs:SendMessage".into()],
                not_action: true,
                resources: vec![Expr::Literal("*".into())],
                not_resource: true,
                conditions: vec!["StringEquals aws:RequestedRegion".into()],
            }]
        );
    }

    #[test]
    fn what_cannot_be_read_is_said_not_dropped() {
        assert_eq!(
            policy("!Sub arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"),
            PolicyEntry::Managed(Expr::Sub(
                "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess".into()
            ))
        );
        assert!(matches!(
            policy("Statement: [{Effect: Allow, Action: [s3:GetObject], Resource: !FindInMap [M, a, b]}]"),
            PolicyEntry::Unreadable(_)
        ));
        assert!(matches!(
            policy("Statement: [{Effect: allow, Action: [s3:GetObject], Resource: '*'}]"),
            PolicyEntry::Unreadable(_)
        ));
    }
}
