//! The project's rules, held against what the SAM transform really generates: every role and
//! every Lambda invoke permission in the expanded template (scripts/lib/expand_template.py, the
//! `aws-sam-translator` package) is exactly what the offline stack derives from template.yaml and
//! enforces. The offline IAM evaluator writes out SAM's policy templates and generated
//! permissions itself; these tests fail when it and SAM disagree.

use crate::{
    iam::{function_statements, principal_statements, Statement},
    resources::Resources,
};
use cartwheel_template::{Effect, Expr, Template, EMBEDDED};
use serde_json::Value;
use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
    process::Command,
};

/// The expanded template: `CARTWHEEL_EXPANDED_TEMPLATE` (scripts/test writes it before the
/// tests), else translated here with the project's venv.
fn expanded() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = match std::env::var("CARTWHEEL_EXPANDED_TEMPLATE") {
        Ok(path) => PathBuf::from(path),
        Err(_) => {
            let out = std::env::temp_dir().join(format!("expanded-{}.json", std::process::id()));
            let python = root.join(".venv/bin/python");
            let status = Command::new(&python)
                .arg(root.join("scripts/lib/expand_template.py"))
                .arg(root.join("template.yaml"))
                .arg(&out)
                .status()
                .unwrap_or_else(|e| panic!("{}: {e}; run scripts/test once", python.display()));
            assert!(status.success(), "the SAM translator failed");
            out
        }
    };
    let text = std::fs::read_to_string(&path).expect("the expanded template");
    serde_json::from_str(&text).expect("the expanded template is JSON")
}

/// A `${name}` of a `Fn::Sub`'s variable map, written as the intrinsic it stands for.
fn inlined(value: &Value) -> String {
    match expr(value) {
        Expr::Literal(text) => text,
        Expr::Ref(id) => format!("${{{id}}}"),
        Expr::GetAtt(id, attribute) => format!("${{{id}.{attribute}}}"),
        other => panic!("a Sub variable {other:?}"),
    }
}

/// A JSON-form intrinsic (`{"Fn::Sub": [...]}`) as the YAML model's `Expr`.
fn expr(value: &Value) -> Expr {
    let Some((name, arguments)) = value.as_object().and_then(|o| o.iter().next()) else {
        return match value {
            Value::String(text) => Expr::Literal(text.clone()),
            other => Expr::Literal(other.to_string()),
        };
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    match (name.as_str(), arguments) {
        ("Ref", Value::String(id)) => Expr::Ref(id.clone()),
        ("Fn::GetAtt", Value::String(dotted)) => {
            let (id, attribute) = dotted.split_once('.').expect("Id.Attribute");
            Expr::GetAtt(id.into(), attribute.into())
        }
        ("Fn::GetAtt", Value::Array(pair)) => Expr::GetAtt(
            pair[0].as_str().unwrap().into(),
            pair[1].as_str().unwrap().into(),
        ),
        ("Fn::Sub", Value::String(pattern)) => Expr::Sub(pattern.clone()),
        ("Fn::Sub", Value::Array(pair)) => {
            let mut pattern = pair[0].as_str().expect("a Sub pattern").to_owned();
            for (variable, value) in pair[1].as_object().into_iter().flatten() {
                pattern = pattern.replace(&format!("${{{variable}}}"), &inlined(value));
            }
            Expr::Sub(pattern)
        }
        ("Fn::Join", Value::Array(pair)) => Expr::Join(
            pair[0].as_str().unwrap().into(),
            list(&pair[1]).iter().map(expr).collect(),
        ),
        other => panic!("an intrinsic this test does not read: {other:?}"),
    }
}

fn values(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(many)) => many.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    }
}

/// One allowed or denied (action, resource) pair of a policy, for comparing two policies.
type Grant = (bool, bool, String, bool, String);

fn grants(statements: &[Statement]) -> BTreeSet<Grant> {
    let mut grants = BTreeSet::new();
    for s in statements {
        for action in &s.actions {
            for resource in &s.resources {
                let allow = s.effect == Effect::Allow;
                let grant = (
                    allow,
                    s.not_action,
                    action.clone(),
                    s.not_resource,
                    resource.clone(),
                );
                grants.insert(grant);
            }
        }
    }
    grants
}

/// Tracing: Active makes SAM attach AWSXrayWriteOnlyAccess; offline nothing calls X-Ray, so the
/// offline roles leave it out (and grant less, never more).
fn without_xray(grants: BTreeSet<Grant>) -> BTreeSet<Grant> {
    grants
        .into_iter()
        .filter(|(_, _, action, _, _)| !action.starts_with("xray:"))
        .collect()
}

/// A generated role's policies, read as the offline evaluator reads a declared one.
fn role_grants(role: &Value, resources: &Resources) -> BTreeSet<Grant> {
    let props = &role["Properties"];
    let mut entries: Vec<cartwheel_template::PolicyEntry> = values(props.get("ManagedPolicyArns"))
        .iter()
        .map(|arn| cartwheel_template::PolicyEntry::Managed(expr(arn)))
        .collect();
    for policy in values(props.get("Policies")) {
        let document = &policy["PolicyDocument"];
        let statements = values(document.get("Statement"))
            .iter()
            .map(|s| cartwheel_template::StatementSpec {
                effect: match s["Effect"].as_str() {
                    Some("Deny") => Effect::Deny,
                    _ => Effect::Allow,
                },
                actions: values(s.get("Action").or(s.get("NotAction")))
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
                not_action: s.get("NotAction").is_some(),
                resources: values(s.get("Resource").or(s.get("NotResource")))
                    .iter()
                    .map(expr)
                    .collect(),
                not_resource: s.get("NotResource").is_some(),
                conditions: Vec::new(),
            })
            .collect();
        entries.push(cartwheel_template::PolicyEntry::Statements(statements));
    }
    let statements = principal_statements("generated", &entries, resources).unwrap();
    without_xray(grants(&statements))
}

fn role_of<'a>(expanded: &'a Value, resource: &str, property: &str) -> &'a Value {
    let Expr::GetAtt(role, _) = expr(&expanded["Resources"][resource]["Properties"][property])
    else {
        panic!("{resource}'s {property} is not a generated role");
    };
    &expanded["Resources"][role.as_str()]
}

#[test]
fn every_generated_role_grants_what_the_offline_stack_grants() {
    let (template, expanded) = (Template::parse(EMBEDDED).unwrap(), expanded());
    let resources = Resources::symbolic("us-east-1", "123456789012", "shop");
    let mut compared = 0;
    for function in template.functions().unwrap() {
        let id = &function.logical_id;
        let offline = function_statements(&template, id, &resources).unwrap();
        let generated = role_grants(role_of(&expanded, id, "Role"), &resources);
        assert_eq!(without_xray(grants(&offline)), generated, "{id}'s role");
        compared += 1;
    }
    for machine in template.state_machines() {
        let id = &machine.logical_id;
        let entries = template.policies(id);
        let offline = principal_statements(id, &entries, &resources).unwrap();
        let generated = role_grants(role_of(&expanded, id, "RoleArn"), &resources);
        assert_eq!(grants(&offline), generated, "{id}'s role");
        compared += 1;
    }
    assert!(
        compared > 50,
        "every function and the state machine: {compared}"
    );
}

/// (function, principal, source ARN) of one invoke permission, resolved.
type Invoke = (String, String, String);

#[test]
fn every_generated_invoke_permission_is_one_the_offline_stack_enforces() {
    let (template, expanded) = (Template::parse(EMBEDDED).unwrap(), expanded());
    let resources = Resources::symbolic("us-east-1", "123456789012", "shop");
    let resolve = |e: &Expr| resources.resolve(e).unwrap();
    let generated: BTreeSet<Invoke> = expanded["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Permission")
        .map(|r| {
            let props = &r["Properties"];
            let function = match expr(&props["FunctionName"]) {
                Expr::Ref(id) | Expr::GetAtt(id, _) => id,
                other => panic!("a permission for {other:?}"),
            };
            let principal = props["Principal"].as_str().unwrap().to_owned();
            (function, principal, resolve(&expr(&props["SourceArn"])))
        })
        .collect();
    let offline: BTreeSet<Invoke> = template
        .invoke_permissions()
        .into_iter()
        .map(|p| {
            let source = p.source_arn.as_ref().map(resolve).unwrap_or_default();
            (p.function, p.principal, source)
        })
        .collect();
    assert_eq!(offline, generated);
    let principals: HashMap<&str, usize> = offline.iter().fold(HashMap::new(), |mut n, p| {
        *n.entry(p.1.as_str()).or_default() += 1;
        n
    });
    assert_eq!(
        principals.get("events.amazonaws.com"),
        Some(&1),
        "the sweep's schedule"
    );
    assert!(
        principals["apigateway.amazonaws.com"] > 30,
        "{principals:?}"
    );
}
