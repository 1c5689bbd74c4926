//! What a stack created, by logical id, and how template.yaml's intrinsics resolve to it: `!Ref`
//! gives a table's or bus's name, a queue's URL, a state machine's or function's... what
//! CloudFormation gives; `!GetAtt X.Arn` and friends give the attribute; `!Sub` does both, with
//! `AWS::Region`, `AWS::AccountId`, `AWS::Partition`, `AWS::StackName` and `AWS::StackId`;
//! `!Join`, and `!Select` of a `!Split`, work on what those give. Parameters take their offline
//! values.

use crate::arns::ArnScheme;
use cartwheel_template::{EnvValue, Expr};
use std::collections::HashMap;

/// An intrinsic the offline stack cannot resolve, as CloudFormation would refuse the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("!Ref {0}: the offline stack has no such resource or parameter")]
    NoSuchReference(String),
    #[error("!GetAtt {id}.{attribute}: the offline stack does not provide it")]
    NoSuchAttribute { id: String, attribute: String },
    #[error("!Split gives a list; only !Select takes one")]
    SplitAlone,
    #[error("!If {0}: no such condition")]
    NoSuchCondition(String),
    #[error("!Select from {0:?}: the offline stack selects only from a !Split")]
    SelectFromNonSplit(Expr),
    #[error("!Select [{index}, ...]: {text:?} has no piece {index}")]
    NoSuchPiece { index: usize, text: String },
    #[error("!Sub {0:?} has an unclosed ${{")]
    UnclosedSub(String),
}

#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub region: String,
    /// The account moto names its resources with; functions get the same one offline.
    pub account: String,
    pub arns: ArnScheme,
    /// `AWS::StackName` and `AWS::StackId`.
    stack_name: String,
    stack_id: String,
    refs: HashMap<String, String>,
    attributes: HashMap<(String, String), String>,
    parameters: HashMap<String, String>,
    /// Whether each of the template's `Conditions` holds, for `!If`.
    conditions: HashMap<String, bool>,
    /// Every resource and parameter stands for itself (`<Table>`, `<Table.Arn>`), so that two
    /// templates' intrinsics can be compared without a stack (the `expanded` test).
    symbolic: bool,
}

impl Resources {
    pub fn new(
        region: &str,
        account: &str,
        stack: &str,
        parameters: HashMap<String, String>,
    ) -> Self {
        Self {
            region: region.to_owned(),
            account: account.to_owned(),
            arns: ArnScheme {
                region: region.to_owned(),
                account: account.to_owned(),
                ..ArnScheme::default()
            },
            stack_name: stack.to_owned(),
            stack_id: format!(
                "arn:aws:cloudformation:{region}:{account}:stack/{stack}/{}",
                uuid_of(stack)
            ),
            parameters,
            ..Self::default()
        }
    }

    /// Resolves every `!Ref` and `!GetAtt` to its own name, and `AWS::` values as a stack would.
    pub fn symbolic(region: &str, account: &str, stack: &str) -> Self {
        let mut resources = Self::new(region, account, stack, HashMap::new());
        resources.arns.table_prefix = format!("arn:aws:dynamodb:{region}:{account}:table/");
        resources.symbolic = true;
        resources
    }

    /// The template's conditions, as they hold for this stack's parameters.
    pub fn set_conditions(&mut self, conditions: HashMap<String, bool>) {
        self.conditions = conditions;
    }

    /// The parameters' values: the template's defaults, overridden by the stack's.
    pub fn parameters(&self) -> &HashMap<String, String> {
        &self.parameters
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

    fn reference(&self, name: &str) -> Result<String, ResolveError> {
        match name {
            "AWS::Region" => Ok(self.region.clone()),
            "AWS::AccountId" => Ok(self.account.clone()),
            "AWS::Partition" => Ok("aws".to_owned()),
            "AWS::URLSuffix" => Ok("amazonaws.com".to_owned()),
            "AWS::StackName" => Ok(self.stack_name.clone()),
            "AWS::StackId" => Ok(self.stack_id.clone()),
            _ => self
                .refs
                .get(name)
                .or_else(|| self.parameters.get(name))
                .cloned()
                .or_else(|| self.symbolic.then(|| format!("<{name}>")))
                .ok_or_else(|| ResolveError::NoSuchReference(name.to_owned())),
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> Result<String, ResolveError> {
        self.attributes
            .get(&(id.to_owned(), attribute.to_owned()))
            .cloned()
            .or_else(|| self.symbolic.then(|| format!("<{id}.{attribute}>")))
            .ok_or_else(|| ResolveError::NoSuchAttribute {
                id: id.to_owned(),
                attribute: attribute.to_owned(),
            })
    }

    pub fn resolve(&self, expr: &Expr) -> Result<String, ResolveError> {
        match expr {
            Expr::Literal(text) => Ok(text.clone()),
            Expr::Ref(name) => self.reference(name),
            Expr::GetAtt(id, attribute) => self.attribute(id, attribute),
            Expr::Sub(pattern) => self.substitute(pattern),
            Expr::Join(delimiter, parts) => Ok(parts
                .iter()
                .map(|part| self.resolve(part))
                .collect::<Result<Vec<_>, _>>()?
                .join(delimiter)),
            Expr::Select(index, list) => self.select(*index, list),
            Expr::Split(..) => Err(ResolveError::SplitAlone),
            Expr::If(condition, then, otherwise) => match self.conditions.get(condition) {
                Some(true) => self.resolve(then),
                Some(false) => self.resolve(otherwise),
                None => Err(ResolveError::NoSuchCondition(condition.clone())),
            },
        }
    }

    fn select(&self, index: usize, list: &Expr) -> Result<String, ResolveError> {
        let Expr::Split(delimiter, source) = list else {
            return Err(ResolveError::SelectFromNonSplit(list.clone()));
        };
        let source = self.resolve(source)?;
        source
            .split(delimiter.as_str())
            .nth(index)
            .map(str::to_owned)
            .ok_or_else(|| ResolveError::NoSuchPiece {
                index,
                text: source.clone(),
            })
    }

    fn substitute(&self, pattern: &str) -> Result<String, ResolveError> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| ResolveError::UnclosedSub(pattern.to_owned()))?;
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

    pub fn resolve_env(&self, value: &EnvValue) -> Result<String, ResolveError> {
        match value {
            EnvValue::Literal(text) => Ok(text.clone()),
            EnvValue::Resource(id) | EnvValue::Parameter(id) => self.reference(id),
            EnvValue::Intrinsic(expr) => self.resolve(expr),
        }
    }
}

/// A UUID made from the stack's name, as CloudFormation puts one in every stack id: the same name
/// gives the same one, so a restarted stack finds what it named with it (its event archive) in
/// place. FNV-1a with two offsets gives the 128 bits; unlike std's hasher, it never changes.
fn uuid_of(stack: &str) -> String {
    let fnv = |offset: u64| {
        stack.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let bits =
        (u128::from(fnv(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(fnv(0x6c62_272e_07bb_0142));
    uuid_text(bits)
}

/// 128 bits in the 8-4-4-4-12 form AWS uses for stack ids and request ids.
pub(crate) fn uuid_text(bits: u128) -> String {
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_resolve_to_what_the_stack_created() {
        let mut resources = Resources::new(
            "us-east-1",
            "123456789012",
            "s",
            HashMap::from([("LogRetentionDays".into(), "30".into())]),
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
        assert_eq!(
            resources
                .resolve(&Expr::GetAtt("Nope".into(), "Arn".into()))
                .unwrap_err()
                .to_string(),
            "!GetAtt Nope.Arn: the offline stack does not provide it"
        );
        assert_eq!(
            resources
                .resolve(&Expr::Ref("LogRetentionDays".into()))
                .unwrap(),
            "30"
        );
    }

    #[test]
    fn an_if_takes_the_branch_its_condition_gives() {
        let mut resources = Resources::new("us-east-1", "1", "shop", HashMap::new());
        let choose = |condition: &str| {
            Expr::If(
                condition.into(),
                Box::new(Expr::Literal("then".into())),
                Box::new(Expr::Ref("AWS::StackName".into())),
            )
        };
        assert!(
            resources.resolve(&choose("Cdn")).is_err(),
            "no such condition"
        );
        resources.set_conditions(HashMap::from([("Cdn".into(), true), ("Waf".into(), false)]));
        assert_eq!(resources.resolve(&choose("Cdn")).unwrap(), "then");
        assert_eq!(resources.resolve(&choose("Waf")).unwrap(), "shop");
    }

    fn stack_uuid(expr: &Expr, resources: &Resources) -> Result<String, ResolveError> {
        resources.resolve(&Expr::Select(
            2,
            Box::new(Expr::Split("/".into(), Box::new(expr.clone()))),
        ))
    }

    #[test]
    fn the_stack_has_a_name_and_an_id_with_a_uuid_of_its_own() {
        let stack = |name: &str| Resources::new("eu-west-1", "1", name, HashMap::new());
        let (one, other) = (stack("shop"), stack("shop-2"));
        assert_eq!(
            one.resolve(&Expr::Sub("${AWS::StackName}-events".into()))
                .unwrap(),
            "shop-events"
        );
        let id = Expr::Ref("AWS::StackId".into());
        let uuid = stack_uuid(&id, &one).unwrap();
        assert!(one
            .resolve(&id)
            .unwrap()
            .starts_with("arn:aws:cloudformation:eu-west-1:1:stack/shop/"));
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4);
        assert_eq!(uuid, stack_uuid(&id, &stack("shop")).unwrap(), "stable");
        assert_ne!(uuid, stack_uuid(&id, &other).unwrap());
    }

    #[test]
    fn join_select_and_split_resolve_as_cloudformation_does() {
        let resources = Resources::new("us-east-1", "1", "shop", HashMap::new());
        let archive = Expr::Join(
            "-".into(),
            vec![
                Expr::Literal("cartwheel".into()),
                Expr::Select(
                    2,
                    Box::new(Expr::Split(
                        "/".into(),
                        Box::new(Expr::Ref("AWS::StackId".into())),
                    )),
                ),
            ],
        );
        let name = resources.resolve(&archive).unwrap();
        assert_eq!(name.len(), "cartwheel-".len() + 36, "{name}");
        let split = |source: &str| {
            Box::new(Expr::Split(
                ",".into(),
                Box::new(Expr::Literal(source.into())),
            ))
        };
        assert_eq!(
            resources.resolve(&Expr::Select(1, split("a,b"))).unwrap(),
            "b"
        );
        assert!(resources.resolve(&Expr::Select(2, split("a,b"))).is_err());
        assert!(
            resources.resolve(&split("a,b")).is_err(),
            "a list is no string"
        );
        assert!(resources
            .resolve(&Expr::Select(0, Box::new(Expr::Literal("a".into()))))
            .is_err());
    }
}
