//! The integration tests of the local runtime, in one binary: one compile and one link instead of
//! one per file, and one process whose shared parts (`support`: the AWS edge) start once. The
//! tests that read metrics back from moto's CloudWatch are in `tests/metrics`: collecting is
//! for the whole process, and here it would carry every other test's metrics too. Each test still makes its own table, customers and products; a test
//! that needs its own settings or faults starts its own stack. They run against the DynamoDB Local
//! and moto that `scripts/test` starts.

#[path = "../support/mod.rs"]
mod support;

mod admin_api;
mod audit;
mod cart_api;
mod catalog_api;
mod checkout_end_to_end;
mod consumers;
mod dashboard;
mod deploy_config;
mod edge;
mod event_fixtures;
mod favourites_api;
mod identity_api;
mod least_privilege;
mod logs;
mod notifications;
mod order_replays;
mod orders_api;
mod payment_records;
mod principals;
mod realtime;
mod reviews_api;
mod saga_lifecycle;
mod saga_steps;
mod sam_fixtures;
mod states_conformance;
mod stock_alerts;
mod stock_reservation;
mod stream_retries;
mod template_and_routes;
