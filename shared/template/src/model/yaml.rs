//! Reading a YAML node of the template: a key, a string, a list, the id a `!Ref` or `!GetAtt`
//! names.

use serde_yaml::Value;

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
