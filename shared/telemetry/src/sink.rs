//! Where EMF documents go: stdout in Lambda, where CloudWatch Logs reads them; offline, the local
//! runtime installs a sink that collects them instead.

use std::sync::OnceLock;

type Sink = Box<dyn Fn(String) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every EMF document to `sink` instead of stdout, for the rest of the process. False if a
/// sink was already installed.
pub fn set_metric_sink(sink: impl Fn(String) + Send + Sync + 'static) -> bool {
    SINK.set(Box::new(sink)).is_ok()
}

pub(crate) fn emit(document: String) {
    match SINK.get() {
        Some(sink) => sink(document),
        None => println!("{document}"),
    }
}

/// A sink that keeps every document, for this crate's tests (a process has one sink).
#[cfg(test)]
pub(crate) fn capture_for_test() -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    static LINES: OnceLock<std::sync::Arc<std::sync::Mutex<Vec<String>>>> = OnceLock::new();
    let lines = LINES.get_or_init(Default::default).clone();
    let kept = lines.clone();
    set_metric_sink(move |line| kept.lock().unwrap().push(line));
    lines
}
