//! A stack's deployed functions, by logical id: what the gateway, the WebSocket API and the AWS
//! edge invoke. Its own module so that those need nothing else of the stack, and the stack (which
//! registers its functions with the edge) is not imported back by the edge.

use crate::{
    iam::Principal, provision::offline_function_arn, resources::Resources, sandbox::Deployed,
};
use std::{collections::HashMap, sync::Arc};

/// A stack's functions, each in its sandbox, and the principals that may invoke them.
pub struct Functions {
    pub stack: String,
    pub(crate) by_id: HashMap<String, Arc<Deployed>>,
    /// The state machines' roles: Step Functions invokes the saga's steps with them.
    pub invokers: Vec<Principal>,
    pub resources: Resources,
}

impl Functions {
    pub fn get(&self, logical_id: &str) -> Option<&Arc<Deployed>> {
        self.by_id.get(logical_id)
    }

    pub fn arn(&self, logical_id: &str) -> String {
        offline_function_arn(
            &self.resources.region,
            &self.resources.account,
            &self.stack,
            logical_id,
        )
    }
}
