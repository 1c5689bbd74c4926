//! Starts the app as a black box: a fresh table in DynamoDB Local and the gateway on a free port.
//! `scripts/test` starts DynamoDB Local and moto and points the AWS SDK at them.
//!
//! `app.rs` starts a test's stack, `store.rs` arranges state straight in the table, `aws.rs` holds
//! the emulators every test shares, `templates.rs` the template a stack deploys, and `checks.rs`
//! the assertions and waits. This file only re-exports them; they import each other, never it.
#![allow(dead_code)]

mod app;
mod aws;
pub mod checkout;
mod checks;
pub mod conflicts;
pub mod fixtures;
mod store;
mod templates;

// Each binary uses some of these helpers only; `dead_code` above does not cover re-exports.
#[allow(unused_imports)]
pub use app::{StackOptions, TestApp};
#[allow(unused_imports)]
pub use aws::{collect_metrics, edge, metric_series, sdk_config, sent_mail};
#[allow(unused_imports)]
pub use checks::{
    assert_exactly_one, assert_problem, next_window, recent_sales, sales, sales_applied,
};
#[allow(unused_imports)]
pub use store::{fresh_store, pending_order, pending_order_paid_with, product, stored_order};
#[allow(unused_imports)]
pub use templates::{edited_template, template};
