//! IAM offline: each principal of template.yaml (a function's role, the state machine's role, the
//! pipe's role) gets the statements its policies grant, resolved to the stack's ARNs, and every
//! AWS call it makes is checked against them before it leaves the process. A call outside the
//! policy gets AWS's own `AccessDeniedException`, and the runtime logs one line naming the
//! principal, the action and the resource.

mod client;
mod expand;
mod request;

pub use crate::arns::ArnScheme;
pub use client::sandboxed_sdk;
pub use expand::{function_statements, principal_statements, ExpandError};
pub use request::{calls, Call, Operation};

use std::sync::Mutex;

pub use cartwheel_template::Effect;

/// IAM's refusal of a call. Its text is AWS's own `AccessDeniedException` message, which the
/// sandboxed client and the edge answer with (and tests compare): not an error of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDenied {
    /// The principal's identity as AWS names it (`arn:aws:sts::...:assumed-role/...`).
    pub identity: String,
    pub call: Call,
    /// Whether a `Deny` refused it, rather than the lack of an `Allow`.
    pub explicit_deny: bool,
}

impl std::fmt::Display for AccessDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Call { action, resource } = &self.call;
        write!(
            f,
            "User: {} is not authorized to perform: {action} on resource: {resource} ",
            self.identity
        )?;
        if self.explicit_deny {
            write!(f, "with an explicit deny in an identity-based policy")
        } else {
            write!(
                f,
                "because no identity-based policy allows the {action} action"
            )
        }
    }
}

impl std::error::Error for AccessDenied {}

/// A statement with its intrinsics resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub effect: Effect,
    pub actions: Vec<String>,
    /// `NotAction`: every action but `actions`.
    pub not_action: bool,
    pub resources: Vec<String>,
    /// `NotResource`: every resource but `resources`.
    pub not_resource: bool,
}

impl Statement {
    /// An `Allow` of `actions` on `resources`.
    pub fn allow(actions: Vec<String>, resources: Vec<String>) -> Self {
        Self {
            effect: Effect::Allow,
            actions,
            not_action: false,
            resources,
            not_resource: false,
        }
    }
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
    // Every call a function makes is checked against its policy's patterns: ASCII (as actions
    // and ARNs are) is matched in place, anything else character by character.
    if pattern.is_ascii() && text.is_ascii() {
        return matches(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    matches(&p, &t, '*', '?')
}

fn matches<T: PartialEq>(p: &[T], t: &[T], any_run: T, any_one: T) -> bool {
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any_one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any_run {
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
    p[pi..].iter().all(|c| *c == any_run)
}

/// An ARN pattern against an ARN, as IAM matches a policy's resource: `*` alone matches
/// everything; otherwise each of the six colon-separated segments (the last one, the resource,
/// may hold colons of its own) matches on its own, so a wildcard never spans segments.
pub fn resource_match(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (mut p, mut a) = (pattern.splitn(6, ':'), arn.splitn(6, ':'));
    loop {
        match (p.next(), a.next()) {
            (Some(p), Some(a)) if wildcard_match(p, a) => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Statement {
    /// Whether the statement speaks of `call`, whose action is given lowercase as `action`:
    /// `actions` are lowercase too (IAM compares actions without case); see `Principal::new`.
    fn covers(&self, action: &str, call: &Call) -> bool {
        let listed = self.actions.iter().any(|a| wildcard_match(a, action));
        let on = self
            .resources
            .iter()
            .any(|r| resource_match(r, &call.resource));
        listed != self.not_action && on != self.not_resource
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
                ..s
            })
            .collect();
        Self {
            name: name.into(),
            identity: identity.into(),
            statements,
            denials: Mutex::default(),
        }
    }

    /// Whether a statement of `effect` covers `call`.
    fn any(&self, effect: Effect, call: &Call) -> bool {
        let action = call.action.to_ascii_lowercase();
        self.statements
            .iter()
            .any(|s| s.effect == effect && s.covers(&action, call))
    }

    /// As IAM decides: an explicit `Deny` wins, then an `Allow` is needed.
    pub fn allows(&self, call: &Call) -> bool {
        !self.any(Effect::Deny, call) && self.any(Effect::Allow, call)
    }

    /// Checks `call`; a denial is logged once, as one line, and remembered.
    pub fn check(&self, call: &Call) -> Result<(), AccessDenied> {
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
        Err(AccessDenied {
            identity: self.identity.clone(),
            call: call.clone(),
            explicit_deny: self.any(Effect::Deny, call),
        })
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
        // `?` is one character, not one byte, outside ASCII too.
        assert!(wildcard_match("caf?", "café"));
        assert!(!wildcard_match("caf??", "café"));
    }

    #[test]
    fn a_statement_needs_both_the_action_and_the_resource() {
        let principal = Principal::new(
            "F",
            "arn:aws:sts::1:assumed-role/F/F",
            vec![Statement::allow(
                vec!["dynamodb:GetItem".into()],
                vec!["arn:table/t".into()],
            )],
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
            .unwrap_err()
            .to_string();
        assert!(
            denied.contains("not authorized to perform: dynamodb:Query on resource: arn:table/t")
        );
        assert!(principal
            .check(&call("dynamodb:GetItem", "arn:table/u"))
            .is_err());
        assert_eq!(principal.denials().len(), 2);
    }

    fn call(action: &str, resource: &str) -> Call {
        Call {
            action: action.into(),
            resource: resource.into(),
        }
    }

    const QUEUE: &str = "arn:aws:sqs:us-east-1:1:orders";

    #[test]
    fn an_explicit_deny_wins_over_every_allow() {
        let deny = Statement {
            effect: Effect::Deny,
            ..Statement::allow(vec!["sqs:SendMessage".into()], vec![QUEUE.into()])
        };
        let principal = Principal::new(
            "F",
            "arn:aws:sts::1:assumed-role/F/F",
            vec![
                Statement::allow(vec!["sqs:*".into()], vec!["*".into()]),
                deny,
            ],
        );
        assert!(principal.check(&call("sqs:ReceiveMessage", QUEUE)).is_ok());
        let denied = principal
            .check(&call("sqs:SendMessage", QUEUE))
            .unwrap_err()
            .to_string();
        assert!(
            denied.ends_with("with an explicit deny in an identity-based policy"),
            "{denied}"
        );
    }

    #[test]
    fn not_action_and_not_resource_cover_everything_else() {
        let everything_but = Statement {
            not_action: true,
            not_resource: true,
            ..Statement::allow(vec!["sqs:DeleteQueue".into()], vec![QUEUE.into()])
        };
        let principal =
            Principal::new("F", "arn:aws:sts::1:assumed-role/F/F", vec![everything_but]);
        assert!(principal.allows(&call("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:other")));
        assert!(!principal.allows(&call("sqs:DeleteQueue", "arn:aws:sqs:us-east-1:1:other")));
        assert!(!principal.allows(&call("sqs:SendMessage", QUEUE)));
    }

    #[test]
    fn a_resource_wildcard_never_spans_the_segments_of_an_arn() {
        assert!(resource_match("*", QUEUE));
        assert!(resource_match("arn:aws:sqs:*:*:orders", QUEUE));
        assert!(resource_match("arn:aws:sqs:us-east-1:1:*", QUEUE));
        assert!(
            !resource_match("arn:aws:*", QUEUE),
            "one segment cannot stand for four"
        );
        assert!(!resource_match("arn:aws:sqs:us-east-1:*", QUEUE));
        assert!(
            resource_match(
                "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*",
                "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:log-stream:x"
            ),
            "the resource segment keeps its own colons"
        );
    }
}
