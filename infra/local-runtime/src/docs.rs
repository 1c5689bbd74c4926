//! The contract and its viewer, served by the offline stack only: `GET /openapi.yaml` and
//! `GET /docs` (Swagger UI, from the npm package `swagger-ui-dist` that `scripts/start` installs).
//! In AWS the HTTP API has no such routes; the document is `api/openapi.yaml` in the repository.
//! The contract served lists the stack serving it as its first server, so that the page's
//! "Try it out" calls this stack, not the placeholder of a deployed API.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{header::CONTENT_TYPE, Response, StatusCode};
use std::path::{Path, PathBuf};

/// The viewer's files the page loads, and their content types; nothing else is served.
const ASSETS: [(&str, &str); 3] = [
    ("swagger-ui.css", "text/css"),
    ("swagger-ui-bundle.js", "text/javascript"),
    ("favicon-32x32.png", "image/png"),
];

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Cartwheel API</title>
  <link rel="icon" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="contract"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    SwaggerUIBundle({ url: "/openapi.yaml", dom_id: "#contract", persistAuthorization: true });
  </script>
</body>
</html>
"##;

#[derive(Debug, thiserror::Error)]
#[error("{path} cannot be read (scripts/start installs the viewer): {source}")]
pub struct DocsError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

pub struct Docs {
    contract: Bytes,
    assets: Vec<(&'static str, &'static str, Bytes)>,
}

impl Docs {
    /// Reads the contract and the viewer's files once, so a missing one fails the start;
    /// `served_at` is this stack's base URL.
    pub fn load(contract: &Path, viewer_dir: &Path, served_at: &str) -> Result<Self, DocsError> {
        let read = |path: PathBuf| {
            std::fs::read(&path)
                .map(Bytes::from)
                .map_err(|source| DocsError { path, source })
        };
        let assets = ASSETS
            .iter()
            .map(|(name, kind)| Ok((*name, *kind, read(viewer_dir.join(name))?)))
            .collect::<Result<_, DocsError>>()?;
        let contract = read(contract.to_owned())?;
        let contract = listing_first(&String::from_utf8_lossy(&contract), served_at);
        Ok(Self {
            contract: Bytes::from(contract),
            assets,
        })
    }

    /// The answer to a `GET` of `path`, if it is one of the documentation's.
    pub fn answer(&self, method: &str, path: &str) -> Option<Response<Full<Bytes>>> {
        if method != "GET" {
            return None;
        }
        let (kind, body) = match path {
            "/openapi.yaml" => ("application/yaml", self.contract.clone()),
            "/docs" | "/docs/" => (
                "text/html; charset=utf-8",
                Bytes::from_static(PAGE.as_bytes()),
            ),
            _ => {
                let name = path.strip_prefix("/docs/")?;
                let (_, kind, body) = self.assets.iter().find(|(asset, ..)| *asset == name)?;
                (*kind, body.clone())
            }
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = StatusCode::OK;
        if let Ok(value) = kind.parse() {
            response.headers_mut().insert(CONTENT_TYPE, value);
        }
        Some(response)
    }
}

/// The contract with `url` as its first server (and not again further down).
fn listing_first(contract: &str, url: &str) -> String {
    const SERVERS: &str = "\nservers:\n";
    let Some(at) = contract.find(SERVERS) else {
        return contract.to_owned();
    };
    let (before, after) = contract.split_at(at + SERVERS.len());
    let mut rest = String::new();
    let mut entries = after.split_inclusive('\n').peekable();
    // The same URL further down is dropped with its indented lines (its description).
    while let Some(line) = entries.next() {
        if line.trim_end() == format!("  - url: {url}") {
            while entries.next_if(|next| next.starts_with("    ")).is_some() {}
            continue;
        }
        rest.push_str(line);
    }
    format!(
        "{before}  - url: {url}\n    description: This stack, the one serving this page\n{rest}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Docs {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Docs::load(
            &root.join("api/openapi.yaml"),
            &root.join("infra/offline/node_modules/swagger-ui-dist"),
            "http://127.0.0.1:3000",
        )
        .expect("the contract and the viewer are in place")
    }

    #[test]
    fn serves_the_contract_the_viewer_and_nothing_else() {
        let docs = docs();
        let contract = docs.answer("GET", "/openapi.yaml").unwrap();
        assert_eq!(contract.headers()[CONTENT_TYPE], "application/yaml");
        let page = docs.answer("GET", "/docs").unwrap();
        assert!(page.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(docs.answer("GET", "/docs/swagger-ui-bundle.js").is_some());
        for other in ["/docs/../../Cargo.toml", "/docs/index.html", "/products"] {
            assert!(docs.answer("GET", other).is_none(), "{other}");
        }
        assert!(docs.answer("POST", "/docs").is_none());
    }

    #[test]
    fn the_contract_served_lists_the_serving_stack_first() {
        let contract = "info: {}\nservers:\n  - url: https://api.example\n    description: deployed\n  - url: http://127.0.0.1:3000\n    description: offline\ntags: []\n";
        let served = listing_first(contract, "http://127.0.0.1:3000");
        assert_eq!(
            served,
            "info: {}\nservers:\n  - url: http://127.0.0.1:3000\n    description: This stack, the one serving this page\n  - url: https://api.example\n    description: deployed\ntags: []\n"
        );
        let elsewhere = listing_first(contract, "http://127.0.0.1:4000");
        assert!(elsewhere.contains("servers:\n  - url: http://127.0.0.1:4000\n"));
        assert!(elsewhere.contains("  - url: http://127.0.0.1:3000\n"));
        let docs = docs();
        assert!(String::from_utf8_lossy(&docs.contract)
            .contains("servers:\n  - url: http://127.0.0.1:3000\n    description: This stack"));
    }
}
