//! The contract and its viewer, served by the offline stack only: `GET /openapi.yaml` and
//! `GET /docs` (Swagger UI, from the npm package `swagger-ui-dist` that `scripts/start` installs).
//! In AWS the HTTP API has no such routes; the document is `api/openapi.yaml` in the repository.

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
    /// Reads the contract and the viewer's files once, so a missing one fails the start.
    pub fn load(contract: &Path, viewer_dir: &Path) -> Result<Self, DocsError> {
        let read = |path: PathBuf| {
            std::fs::read(&path)
                .map(Bytes::from)
                .map_err(|source| DocsError { path, source })
        };
        let assets = ASSETS
            .iter()
            .map(|(name, kind)| Ok((*name, *kind, read(viewer_dir.join(name))?)))
            .collect::<Result<_, DocsError>>()?;
        Ok(Self {
            contract: read(contract.to_owned())?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Docs {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Docs::load(
            &root.join("api/openapi.yaml"),
            &root.join("infra/offline/node_modules/swagger-ui-dist"),
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
}
