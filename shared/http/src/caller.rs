use crate::ApiError;
use cartwheel_domain::{Role, UserId};
use lambda_http::{Request, RequestExt};

/// The user the gateway's authorizer admitted, read from the authorizer context it attached
/// (`sub` and `role`). A handler behind the authorizer never sees a request without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub role: Role,
}

impl Caller {
    pub const SUBJECT_KEY: &'static str = "sub";
    pub const ROLE_KEY: &'static str = "role";

    pub fn of(request: &Request) -> Result<Self, ApiError> {
        let context = request
            .request_context_ref()
            .and_then(|c| c.authorizer())
            .map(|a| &a.fields);
        let field = |key| {
            context
                .and_then(|fields| fields.get(key))
                .and_then(|v| v.as_str())
        };
        let user_id = field(Self::SUBJECT_KEY).and_then(|s| s.parse().ok());
        let role = field(Self::ROLE_KEY).and_then(Role::parse);
        match (user_id, role) {
            (Some(user_id), Some(role)) => Ok(Self { user_id, role }),
            _ => Err(ApiError::Unauthenticated),
        }
    }

    pub fn admin(request: &Request) -> Result<Self, ApiError> {
        let caller = Self::of(request)?;
        match caller.role {
            Role::Admin => Ok(caller),
            Role::Customer => Err(ApiError::Forbidden("admin")),
        }
    }
}
