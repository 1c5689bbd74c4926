//! IAM offline: each principal of template.yaml (a function's role, the state machine's role, the
//! pipe's role) gets the statements its policies grant, resolved to the stack's ARNs, and every
//! AWS call it makes is checked against them before it leaves the process. A call outside the
//! policy gets AWS's own `AccessDeniedException`, and the runtime logs one line naming the
//! principal, the action and the resource.

mod client;
mod expand;
mod request;

pub use client::sandboxed_sdk;
pub use expand::{function_statements, principal_statements, ExpandError};
pub use request::{calls, ArnScheme, Call, Operation};

use std::sync::Mutex;

/// An `Allow` statement with its intrinsics resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// A role: who it is and what it may do.
#[derive(Debug)]
pub struct Principal {
    /// The template's logical id of the function, state machine or pipe.
    pub name: String,
    /// The ARN AWS would name in the error: `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub identity: String,
    pub statements: Vec<Statement>,
    denials: Mutex<Vec<Call>>,
}

/// `*` matches any run of characters, `?` any one; as IAM matches actions and resources.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Statement {
    /// `actions` are lowercase (IAM compares actions without case); see `Principal::new`.
    fn allows(&self, call: &Call) -> bool {
        let action = call.action.to_ascii_lowercase();
        self.actions.iter().any(|a| wildcard_match(a, &action))
            && self
                .resources
                .iter()
                .any(|r| wildcard_match(r, &call.resource))
    }
}

impl Principal {
    pub fn new(
        name: impl Into<String>,
        identity: impl Into<String>,
        statements: Vec<Statement>,
    ) -> Self {
        // Lowercased once here, not on every call.
        let statements = statements
            .into_iter()
            .map(|s| Statement {
                actions: s.actions.iter().map(|a| a.to_ascii_lowercase()).collect(),
                resources: s.resources,
            })
            .collect();
        Self {
            name: name.into(),
            identity: identity.into(),
            statements,
            denials: Mutex::default(),
        }
    }

    pub fn allows(&self, call: &Call) -> bool {
        self.statements.iter().any(|s| s.allows(call))
    }

    /// Checks `call`; a denial is logged once, as one line, and remembered.
    pub fn check(&self, call: &Call) -> Result<(), String> {
        if self.allows(call) {
            return Ok(());
        }
        tracing::error!(
            principal = %self.name, action = %call.action, resource = %call.resource,
            "AccessDenied: {} may not {} on {}", self.name, call.action, call.resource
        );
        if let Ok(mut denials) = self.denials.lock() {
            denials.push(call.clone());
        }
        Err(format!(
            "User: {} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
            self.identity, call.action, call.resource, call.action
        ))
    }

    /// Every call refused so far.
    pub fn denials(&self) -> Vec<Call> {
        self.denials.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard_match("sqs:SendMessage*", "sqs:SendMessage"));
        assert!(wildcard_match("arn:t/index/*", "arn:t/index/GSI1"));
        assert!(!wildcard_match("arn:t/index/*", "arn:t"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("abc", "abcd"));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn a_statement_needs_both_the_action_and_the_resource() {
        let principal = Principal::new(
            "F",
            "arn:aws:sts::1:assumed-role/F/F",
            vec![Statement {
                actions: vec!["dynamodb:GetItem".into()],
                resources: vec!["arn:table/t".into()],
            }],
        );
        let call = |action: &str, resource: &str| Call {
            action: action.into(),
            resource: resource.into(),
        };
        assert!(principal
            .check(&call("dynamodb:getitem", "arn:table/t"))
            .is_ok());
        let denied = principal
            .check(&call("dynamodb:Query", "arn:table/t"))
            .unwrap_err();
        assert!(
            denied.contains("not authorized to perform: dynamodb:Query on resource: arn:table/t")
        );
        assert!(principal
            .check(&call("dynamodb:GetItem", "arn:table/u"))
            .is_err());
        assert_eq!(principal.denials().len(), 2);
    }
}
