//! `Conditions`, evaluated for given parameter values as CloudFormation evaluates them at deploy:
//! `!Equals`, `!Not`, `!And`, `!Or` and `!Condition`, over literals and `!Ref`s of parameters.
//! Anything else is an error, never a guess.

use crate::model::{text, Template, TemplateError};
use serde_yaml::{Mapping, Value};
use std::collections::HashMap;

fn unreadable(what: &str) -> TemplateError {
    TemplateError::Shape(format!(
        "a condition the offline stack cannot evaluate: {what}"
    ))
}

/// A literal, or the value of the parameter a `!Ref` names.
fn operand(value: &Value, parameters: &HashMap<String, String>) -> Result<String, TemplateError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Tagged(t) if t.tag == "!Ref" => {
            let name = t.value.as_str().unwrap_or_default();
            parameters
                .get(name)
                .cloned()
                .ok_or_else(|| unreadable(&format!("!Ref {name} has no value")))
        }
        other => Err(unreadable(&format!("{other:?}"))),
    }
}

struct Evaluation<'a> {
    declared: &'a Mapping,
    parameters: &'a HashMap<String, String>,
}

impl Evaluation<'_> {
    fn named(&self, name: &str, depth: usize) -> Result<bool, TemplateError> {
        let condition = self
            .declared
            .get(name)
            .ok_or_else(|| unreadable(&format!("no condition {name}")))?;
        if depth > self.declared.len() {
            return Err(unreadable(&format!("{name} refers to itself")));
        }
        self.holds(condition, depth + 1)
    }

    fn holds(&self, condition: &Value, depth: usize) -> Result<bool, TemplateError> {
        let Value::Tagged(tagged) = condition else {
            return Err(unreadable(&format!("{condition:?}")));
        };
        let arguments = tagged.value.as_sequence().map(Vec::as_slice);
        let all = |values: &[Value]| -> Result<Vec<bool>, TemplateError> {
            values.iter().map(|v| self.holds(v, depth)).collect()
        };
        match (tagged.tag.to_string().as_str(), arguments) {
            ("!Equals", Some([a, b])) => {
                Ok(operand(a, self.parameters)? == operand(b, self.parameters)?)
            }
            ("!Not", Some([inner])) => Ok(!self.holds(inner, depth)?),
            ("!And", Some(inner)) => Ok(all(inner)?.into_iter().all(|b| b)),
            ("!Or", Some(inner)) => Ok(all(inner)?.into_iter().any(|b| b)),
            ("!Condition", None) => self.named(tagged.value.as_str().unwrap_or_default(), depth),
            (tag, _) => Err(unreadable(tag)),
        }
    }
}

impl Template {
    /// Whether each declared condition holds, for these parameter values.
    pub fn conditions(
        &self,
        parameters: &HashMap<String, String>,
    ) -> Result<HashMap<String, bool>, TemplateError> {
        let evaluation = Evaluation {
            declared: &self.conditions,
            parameters,
        };
        self.conditions
            .keys()
            .filter_map(Value::as_str)
            .map(|name| Ok((name.to_owned(), evaluation.named(name, 0)?)))
            .collect()
    }

    /// The `Condition` a resource is created under, if any.
    pub fn condition_of(&self, logical_id: &str) -> Option<String> {
        self.resource(logical_id).and_then(|r| text(r, "Condition"))
    }

    /// Whether a resource is created with these parameter values.
    pub fn creates(
        &self,
        logical_id: &str,
        parameters: &HashMap<String, String>,
    ) -> Result<bool, TemplateError> {
        match self.condition_of(logical_id) {
            None => Ok(true),
            Some(name) => Ok(self.conditions(parameters)?.get(&name) == Some(&true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(conditions: &str) -> Template {
        Template::parse(&format!(
            "Parameters:\n  Cdn: {{Type: String, Default: \"false\"}}\n  Limit: {{Type: Number, Default: 0}}\nConditions:\n{conditions}\nResources: {{}}\n"
        ))
        .unwrap()
    }

    fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn conditions_hold_as_cloudformation_evaluates_them() {
        let template = with(
            "  On: !Equals [!Ref Cdn, \"true\"]\n  Limited: !Not [!Equals [!Ref Limit, 0]]\n  Both: !And [!Condition On, !Condition Limited]\n  Either: !Or [!Condition On, !Condition Limited]",
        );
        let held = template
            .conditions(&values(&[("Cdn", "true"), ("Limit", "0")]))
            .unwrap();
        let got = [held["On"], held["Limited"], held["Both"], held["Either"]];
        assert_eq!(got, [true, false, false, true]);
        let held = template
            .conditions(&values(&[("Cdn", "false"), ("Limit", "10")]))
            .unwrap();
        assert_eq!(
            (held["On"], held["Limited"], held["Both"]),
            (false, true, false)
        );
    }

    #[test]
    fn what_cannot_be_evaluated_is_an_error_not_a_guess() {
        let pseudo = with("  East: !Equals [!Ref AWS::Region, us-east-1]");
        assert!(pseudo.conditions(&values(&[])).is_err());
        let unknown = with("  Odd: !Contains [[a], !Ref Cdn]");
        assert!(unknown.conditions(&values(&[("Cdn", "a")])).is_err());
        let looped = with("  A: !Condition B\n  B: !Condition A");
        assert!(looped.conditions(&values(&[])).is_err());
    }
}
