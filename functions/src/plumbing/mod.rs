//! How a handler becomes a deployed Lambda, apart from what the handlers do: its settings
//! (`config`), the clients it is built from at cold start (`deps`), the Lambda runtime around it
//! (`function`, `lambda`, and `origin`, the CDN's gate), and the one table of every deployed
//! function (`deployed`, typed by `registry`). These modules import the features; no feature
//! imports them back.

pub mod config;
pub mod deployed;
pub mod deps;
pub mod function;
pub mod lambda;
pub mod origin;
pub mod registry;
