//! The parts of EventBridge's pattern and input-template languages that Cartwheel's pipes use:
//! exact values (any of a list) in nested objects, and `<$.path>` placeholders.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("the offline stack does not evaluate this filter pattern: {0}")]
pub struct UnsupportedPattern(String);

/// Refuses, at start, a pattern that uses operators (`prefix`, `numeric`, ...) the matcher lacks.
pub fn check(pattern: &Value) -> Result<(), UnsupportedPattern> {
    match pattern {
        Value::Object(fields) => fields.values().try_for_each(check),
        Value::Array(values) if values.iter().all(|v| !v.is_object() && !v.is_array()) => Ok(()),
        other => Err(UnsupportedPattern(other.to_string())),
    }
}

/// Whether `event` matches `pattern`: every field the pattern names holds one of its values.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        return false;
    };
    fields.iter().all(|(name, expected)| {
        let Some(actual) = event.get(name) else {
            return false;
        };
        match expected {
            Value::Object(_) => matches(expected, actual),
            Value::Array(allowed) => match actual {
                Value::Array(values) => values.iter().any(|v| allowed.contains(v)),
                value => allowed.contains(value),
            },
            _ => false,
        }
    })
}

/// Fills `<$.a.b>` placeholders from `event`; a string is inserted without its quotes, as
/// EventBridge does inside a quoted template value.
pub fn render(template: &str, event: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("<$.") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let path = &rest[start + 3..start + end];
        let value = path.split('.').try_fold(event, |v, key| v.get(key));
        match value {
            Some(Value::String(text)) => {
                let quoted = Value::String(text.clone()).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            Some(other) => out.push_str(&other.to_string()),
            None => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pending_insert() -> Value {
        json!({"eventName": "INSERT", "dynamodb": {"NewImage": {
            "SK": {"S": "ORDER"}, "status": {"S": "PENDING"}, "id": {"S": "01ABC"}}}})
    }

    #[test]
    fn the_hand_off_filter_takes_only_new_pending_orders() {
        let pattern = json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {
            "SK": {"S": ["ORDER"]}, "status": {"S": ["PENDING"]}}}});
        check(&pattern).unwrap();
        assert!(matches(&pattern, &pending_insert()));
        let mut modified = pending_insert();
        modified["eventName"] = json!("MODIFY");
        assert!(!matches(&pattern, &modified));
        let mut cart_line = pending_insert();
        cart_line["dynamodb"]["NewImage"]["SK"] = json!({"S": "CART#1"});
        assert!(!matches(&pattern, &cart_line));
        let mut removed = pending_insert();
        removed["dynamodb"] = json!({"OldImage": {}});
        assert!(!matches(&pattern, &removed));
    }

    #[test]
    fn operators_are_refused_rather_than_misread() {
        assert!(check(&json!({"a": [{"prefix": "x"}]})).is_err());
        assert!(check(&json!({"a": "x"})).is_err());
    }

    #[test]
    fn templates_take_values_from_the_record() {
        let rendered = render(
            r#"{"orderId": "<$.dynamodb.NewImage.id.S>"}"#,
            &pending_insert(),
        );
        assert_eq!(rendered, r#"{"orderId": "01ABC"}"#);
        assert_eq!(render("<$.missing>!", &pending_insert()), "!");
    }
}
