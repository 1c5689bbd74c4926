//! Conditional GETs for public reads: an `ETag` drawn from the body, a `Cache-Control` that browsers
//! and CloudFront honour, and 304 Not Modified when the client already holds that very body. The
//! read still happens (the tag is the body's), so a 304 saves the body's bytes and the client's
//! parsing, not the table's work; a CDN in front saves both for `max-age`.

use crate::{ApiError, ApiResult};
use lambda_http::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    Body, Request, Response,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long a shared cache may serve a read without asking again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub max_age_seconds: u32,
}

impl Freshness {
    fn header(self) -> String {
        format!("public, max-age={}", self.max_age_seconds)
    }
}

/// 200 with `value` as JSON, or 304 if the request's `If-None-Match` names its tag; both carry the
/// tag and `freshness`.
pub fn cached_json<T: Serialize>(request: &Request, freshness: Freshness, value: &T) -> ApiResult {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    let tag = entity_tag(body.as_bytes());
    let mut response = if none_match(request.headers(), &tag) {
        let mut response = Response::new(Body::Text(body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    } else {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, header_value(&tag)?);
    headers.insert(header::CACHE_CONTROL, header_value(&freshness.header())?);
    Ok(response)
}

fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(ApiError::internal)
}

/// A strong tag: the first 128 bits of the body's SHA-256, quoted. Equal bodies, equal tags, on
/// every instance of the function, so a tag from one instance revalidates against another.
fn entity_tag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether the response should be sent in full: true unless an `If-None-Match` lists `tag` or is
/// `*`. RFC 9110 §13.1.2 compares weakly: `W/"x"` matches `"x"`.
fn none_match(headers: &HeaderMap, tag: &str) -> bool {
    let mut listed = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    !listed.any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_SECONDS: Freshness = Freshness {
        max_age_seconds: 10,
    };

    fn request(if_none_match: &[&str]) -> Request {
        let mut request = Request::default();
        for value in if_none_match {
            request
                .headers_mut()
                .append(header::IF_NONE_MATCH, value.parse().unwrap());
        }
        request
    }

    fn tag_of(value: &serde_json::Value) -> String {
        let response = cached_json(&request(&[]), TEN_SECONDS, value).unwrap();
        response.headers()[header::ETAG]
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_full_answer_carries_its_tag_and_freshness() {
        let response =
            cached_json(&request(&[]), TEN_SECONDS, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=10"
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let tag = response.headers()[header::ETAG].to_str().unwrap();
        assert_eq!(tag.len(), 34, "{tag}");
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_eq!(response.body(), &Body::Text(r#"{"a":1}"#.into()));
    }

    #[test]
    fn the_tag_changes_with_the_body_only() {
        let one = serde_json::json!({"stock": 1});
        assert_eq!(tag_of(&one), tag_of(&one));
        assert_ne!(tag_of(&one), tag_of(&serde_json::json!({"stock": 2})));
    }

    #[test]
    fn a_matching_tag_gets_304_without_a_body() {
        let value = serde_json::json!({"a": 1});
        let tag = tag_of(&value);
        let weak = format!("W/{tag}");
        for header in [tag.as_str(), weak.as_str(), "*"] {
            let response = cached_json(&request(&[header]), TEN_SECONDS, &value).unwrap();
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{header}");
            assert_eq!(response.body(), &Body::Empty);
            assert_eq!(response.headers()[header::ETAG], tag.as_str());
            assert_eq!(
                response.headers()[header::CACHE_CONTROL],
                "public, max-age=10"
            );
        }
    }

    #[test]
    fn a_tag_anywhere_in_the_lists_matches() {
        let value = serde_json::json!({"a": 1});
        let tag = tag_of(&value);
        let list = format!("\"other\", {tag}");
        let response = cached_json(&request(&["\"first\"", &list]), TEN_SECONDS, &value).unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    }

    #[test]
    fn another_tag_gets_the_full_answer() {
        let value = serde_json::json!({"a": 1});
        let stale = tag_of(&serde_json::json!({"a": 0}));
        let response = cached_json(&request(&[&stale, "garbage"]), TEN_SECONDS, &value).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
