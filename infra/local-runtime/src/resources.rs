//! What a stack created, by logical id, and how template.yaml's intrinsics resolve to it: `!Ref`
//! gives a table's or bus's name, a queue's URL, a state machine's or function's... what
//! CloudFormation gives; `!GetAtt X.Arn` and friends give the attribute; `!Sub` does both, with
//! `AWS::Region`, `AWS::AccountId` and `AWS::Partition`. Parameters take their offline values.

use crate::iam::ArnScheme;
use cartwheel_template::{EnvValue, Expr};
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub region: String,
    /// The account moto names its resources with; functions get the same one offline.
    pub account: String,
    pub arns: ArnScheme,
    refs: HashMap<String, String>,
    attributes: HashMap<(String, String), String>,
    parameters: HashMap<String, String>,
}

impl Resources {
    pub fn new(region: &str, account: &str, parameters: HashMap<String, String>) -> Self {
        Self {
            region: region.to_owned(),
            account: account.to_owned(),
            arns: ArnScheme {
                region: region.to_owned(),
                account: account.to_owned(),
                ..ArnScheme::default()
            },
            parameters,
            ..Self::default()
        }
    }

    /// Records what `!Ref id` and each `!GetAtt id.attribute` give.
    pub fn add(&mut self, id: &str, reference: &str, attributes: &[(&str, &str)]) {
        self.refs.insert(id.to_owned(), reference.to_owned());
        for (attribute, value) in attributes {
            self.attributes.insert(
                (id.to_owned(), (*attribute).to_owned()),
                (*value).to_owned(),
            );
        }
    }

    fn reference(&self, name: &str) -> Result<String, String> {
        match name {
            "AWS::Region" => Ok(self.region.clone()),
            "AWS::AccountId" => Ok(self.account.clone()),
            "AWS::Partition" => Ok("aws".to_owned()),
            _ => self
                .refs
                .get(name)
                .or_else(|| self.parameters.get(name))
                .cloned()
                .ok_or_else(|| {
                    format!("!Ref {name}: the offline stack has no such resource or parameter")
                }),
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> Result<String, String> {
        self.attributes
            .get(&(id.to_owned(), attribute.to_owned()))
            .cloned()
            .ok_or_else(|| {
                format!("!GetAtt {id}.{attribute}: the offline stack does not provide it")
            })
    }

    pub fn resolve(&self, expr: &Expr) -> Result<String, String> {
        match expr {
            Expr::Literal(text) => Ok(text.clone()),
            Expr::Ref(name) => self.reference(name),
            Expr::GetAtt(id, attribute) => self.attribute(id, attribute),
            Expr::Sub(pattern) => self.substitute(pattern),
        }
    }

    fn substitute(&self, pattern: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| format!("!Sub {pattern:?} has an unclosed ${{"))?;
            let name = &rest[start + 2..start + end];
            out.push_str(&match name.split_once('.') {
                Some((id, attribute)) if !name.starts_with("AWS::") => {
                    self.attribute(id, attribute)?
                }
                _ => self.reference(name)?,
            });
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    pub fn resolve_env(&self, value: &EnvValue) -> Result<String, String> {
        match value {
            EnvValue::Literal(text) => Ok(text.clone()),
            EnvValue::Resource(id) | EnvValue::Parameter(id) => self.reference(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_resolve_to_what_the_stack_created() {
        let mut resources = Resources::new(
            "us-east-1",
            "123456789012",
            HashMap::from([("Stage".into(), "dev".into())]),
        );
        resources.add("Table", "t", &[("Arn", "arn:table/t")]);
        resources.add("Machine", "arn:sm", &[("Name", "s-Machine")]);
        assert_eq!(resources.resolve(&Expr::Ref("Table".into())).unwrap(), "t");
        assert_eq!(
            resources
                .resolve(&Expr::Sub("${Table.Arn}/index/*".into()))
                .unwrap(),
            "arn:table/t/index/*"
        );
        assert_eq!(
            resources
                .resolve(&Expr::Sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Machine.Name}:*".into()))
                .unwrap(),
            "arn:aws:states:us-east-1:123456789012:execution:s-Machine:*"
        );
        assert!(resources
            .resolve(&Expr::GetAtt("Nope".into(), "Arn".into()))
            .is_err());
        assert_eq!(
            resources.resolve(&Expr::Ref("Stage".into())).unwrap(),
            "dev"
        );
    }
}
