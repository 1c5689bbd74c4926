//! The domain events' consumers, each on its own queue (template.yaml): one module each.

pub mod audit;
pub mod notify;
pub mod order_updates;
pub mod sales;
pub mod stock_alerts;
