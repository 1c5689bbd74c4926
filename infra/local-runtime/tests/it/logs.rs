//! What a function's log lines say, as CloudWatch Logs gets them: JSON, with the spans of the
//! invocation (Lambda's request id and trace id, the function and whether it was a cold start)
//! and of the handler (the order it is about).

use crate::support;

use cartwheel_domain::Role;
use serde_json::Value;
use std::{
    io::Write,
    sync::{Arc, Mutex},
};
use support::{checkout::place, TestApp};
use tracing_subscriber::{filter::LevelFilter, layer::SubscriberExt};

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Every line that says `message`, parsed.
    fn lines(&self, message: &str) -> Vec<Value> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["message"] == message)
            .collect()
    }
}

/// The fields of the span called `name` in a log line's span list.
fn span<'a>(line: &'a Value, name: &str) -> &'a Value {
    line["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no span {name} in {line}"))
}

/// The test's runtime runs on one thread, so its subscriber sees every task the stack spawns.
#[tokio::test]
async fn a_log_line_names_its_request_trace_function_cold_start_and_order() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry()
        .with(cartwheel_telemetry::json_logs(move || writer.clone()))
        .with(LevelFilter::INFO);
    let _logging = tracing::subscriber::set_default(subscriber);

    let app = TestApp::start().await;
    let product = support::product(&app.store, "LOGGED-1", 5).await;
    let (_, token) = app.user_token(Role::Customer).await;
    let first = place(&app, &token, &product.id.to_string(), "tok_visa", "log-1").await;
    let second = place(&app, &token, &product.id.to_string(), "tok_visa", "log-2").await;

    let placed = captured.lines("order placed");
    assert_eq!(placed.len(), 2, "one line per order placed");
    let mut request_ids = Vec::new();
    for (line, (order, cold)) in placed.iter().zip([(&first, true), (&second, false)]) {
        let runtime = span(line, "Lambda runtime invoke");
        let request_id = runtime["requestId"].as_str().unwrap();
        assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
        request_ids.push(request_id.to_owned());
        let trace = runtime["xrayTraceId"].as_str().unwrap();
        assert!(trace.starts_with("Root=1-"), "{trace}");
        let invocation = span(line, "invocation");
        assert_eq!(invocation["function"], "PlaceOrderFunction");
        assert_eq!(invocation["coldStart"], cold, "{line}");
        assert_eq!(span(line, "place_order")["orderId"], order.to_string());
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["lines"], 1);
    }
    assert_ne!(
        request_ids[0], request_ids[1],
        "each invocation has its own request id"
    );
}
