use crate::{ApiError, FieldError};
use cartwheel_domain::InvalidValue;
use lambda_http::{http::header, Request, RequestExt};
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// The largest JSON body any handler accepts; API Gateway itself allows 10 MB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses the body into `T`, naming the offending field when the JSON is well formed but wrong.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        if !content_type.to_str().is_ok_and(is_json) {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::MissingBody),
        // serde would read a struct from an array, positionally; the API only speaks objects.
        Some(b'{') => {}
        Some(_) => return Err(not_an_object(bytes)),
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::InvalidField(FieldError {
                    field,
                    message: field_message(&inner.to_string()),
                })
            }
            _ => ApiError::MalformedJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

fn not_an_object(bytes: &[u8]) -> ApiError {
    match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        Ok(_) => ApiError::InvalidField(FieldError {
            field: "body".into(),
            message: "must be a JSON object".into(),
        }),
        Err(error) => ApiError::MalformedJson(error.to_string()),
    }
}

/// serde_json appends " at line L column C"; for a field error the field name says more.
fn field_message(raw: &str) -> String {
    match raw.rfind(" at line ") {
        Some(at) => raw[..at].to_owned(),
        None => raw.to_owned(),
    }
}

/// Parses the path parameter `name` (API Gateway always supplies the ones its route declares),
/// and records it on the handler's span if the span declares a field of that name (`orderId`,
/// `productId`), so every log line of the request names what it is about.
pub fn path_id<T: FromStr<Err = InvalidValue>>(
    request: &Request,
    name: &'static str,
) -> Result<T, ApiError> {
    let params = request.path_parameters();
    let raw = params.first(name).unwrap_or_default();
    let id = raw
        .parse()
        .map_err(|e: InvalidValue| ApiError::InvalidPathParameter { name, message: e.0 })?;
    tracing::Span::current().record(name, raw);
    Ok(id)
}

pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Payload {
        price: Price,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Price {
        amount: u32,
    }

    fn request(body: &str, content_type: Option<&str>) -> Request {
        let mut builder = lambda_http::http::Request::builder();
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::Text(body.into())).unwrap()
    }

    fn parse(body: &str) -> Result<Payload, ApiError> {
        json_body(&request(body, Some("application/json")))
    }

    #[test]
    fn wrong_values_name_their_field() {
        match parse(r#"{"price":{"amount":-3}}"#) {
            Err(ApiError::InvalidField(f)) => assert_eq!(f.field, "price.amount"),
            other => panic!("{other:?}"),
        }
        match parse(r#"{"price":{"amount":3},"extra":1}"#) {
            Err(ApiError::InvalidField(f)) => assert!(f.message.contains("extra"), "{f:?}"),
            other => panic!("{other:?}"),
        }
        match parse(r#"{}"#) {
            Err(ApiError::InvalidField(f)) => {
                assert!(f.message.contains("missing field `price`"), "{f:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn syntax_errors_empty_bodies_and_other_media_types_are_refused() {
        assert!(matches!(
            parse(r#"{"price":"#),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse(r#"{"price":{"amount":1}} trailing"#),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(parse("  "), Err(ApiError::MissingBody)));
        assert!(matches!(parse("[1,"), Err(ApiError::MalformedJson(_))));
        match parse("[1,2]") {
            Err(ApiError::InvalidField(f)) => assert_eq!(
                (f.field.as_str(), f.message.as_str()),
                ("body", "must be a JSON object")
            ),
            other => panic!("{other:?}"),
        }
        let form: Result<Payload, _> =
            json_body(&request("a=b", Some("application/x-www-form-urlencoded")));
        assert!(matches!(form, Err(ApiError::UnsupportedMediaType)));
        let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(parse(&huge), Err(ApiError::PayloadTooLarge(_))));
        assert!(json_body::<Payload>(&request(r#"{"price":{"amount":1}}"#, None)).is_ok());
    }
}
