//! What the CDN's edge answers before the API sees a request. A WAF rate block is overload, so it
//! is answered as overload is everywhere else: 429 with `Retry-After`, and a body of the contract's
//! `GatewayMessage` shape. WAF's default block is a bare 403, which a client cannot tell from a
//! refusal. Nothing offline builds the web ACL (docs/offline-limits.md), so the template is read.

use serde_yaml::Value;

fn parse(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).expect("the template parses")
}

/// Each web ACL rule that blocks by rate without answering 429, a `Retry-After` of whole seconds
/// (at least 1) and a JSON body `{"message": …}`.
fn rate_blocks_without_retry_after(template: &Value) -> Vec<String> {
    let resources = template["Resources"].as_mapping().into_iter().flatten();
    let acls = resources.filter(|(_, r)| r["Type"].as_str() == Some("AWS::WAFv2::WebACL"));
    let mut found = Vec::new();
    for (id, acl) in acls {
        let properties = &acl["Properties"];
        for rule in properties["Rules"].as_sequence().into_iter().flatten() {
            let block = &rule["Action"]["Block"];
            if rule["Statement"].get("RateBasedStatement").is_none() || block.is_null() {
                continue;
            }
            let answer = &block["CustomResponse"];
            let body = answer["CustomResponseBodyKey"]
                .as_str()
                .map(|key| &properties["CustomResponseBodies"][key]);
            if answer["ResponseCode"].as_u64() != Some(429)
                || !has_retry_after(&answer["ResponseHeaders"])
                || !body.is_some_and(is_gateway_message)
            {
                found.push(format!(
                    "{}'s rule {} blocks by rate without 429, Retry-After and a JSON message",
                    id.as_str().unwrap_or("?"),
                    rule["Name"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    found
}

fn has_retry_after(headers: &Value) -> bool {
    headers.as_sequence().into_iter().flatten().any(|header| {
        header["Name"]
            .as_str()
            .is_some_and(|name| name.eq_ignore_ascii_case("retry-after"))
            && header["Value"]
                .as_str()
                .and_then(|seconds| seconds.parse::<u32>().ok())
                .is_some_and(|seconds| seconds >= 1)
    })
}

fn is_gateway_message(body: &Value) -> bool {
    body["ContentType"].as_str() == Some("APPLICATION_JSON")
        && body["Content"]
            .as_str()
            .and_then(|content| serde_json::from_str::<serde_json::Value>(content).ok())
            .is_some_and(|message| message["message"].is_string())
}

#[test]
fn the_cdns_rate_block_answers_429_with_retry_after() {
    let template = parse(cartwheel_template::EMBEDDED);
    let acls = template["Resources"].as_mapping().into_iter().flatten();
    assert!(
        acls.filter(|(_, r)| r["Type"].as_str() == Some("AWS::WAFv2::WebACL"))
            .count()
            > 0,
        "template.yaml has no web ACL to check"
    );
    assert_eq!(
        rate_blocks_without_retry_after(&template),
        Vec::<String>::new()
    );
}

const ACL: &str = "Resources:
  Acl:
    Type: AWS::WAFv2::WebACL
    Properties:
      CustomResponseBodies:
        Busy: {ContentType: APPLICATION_JSON, Content: '{\"message\":\"Too Many Requests\"}'}
      Rules:
        - Name: PerAddress
          Statement: {RateBasedStatement: {Limit: 100, AggregateKeyType: IP}}
          Action:
            Block: BLOCK
";

#[test]
fn a_rate_block_without_429_and_retry_after_is_found() {
    let answers = [
        ("{}", true),
        ("{CustomResponse: {ResponseCode: 403, CustomResponseBodyKey: Busy, ResponseHeaders: [{Name: Retry-After, Value: '60'}]}}", true),
        ("{CustomResponse: {ResponseCode: 429, CustomResponseBodyKey: Busy}}", true),
        ("{CustomResponse: {ResponseCode: 429, CustomResponseBodyKey: Busy, ResponseHeaders: [{Name: Retry-After, Value: soon}]}}", true),
        ("{CustomResponse: {ResponseCode: 429, ResponseHeaders: [{Name: Retry-After, Value: '60'}]}}", true),
        ("{CustomResponse: {ResponseCode: 429, CustomResponseBodyKey: Busy, ResponseHeaders: [{Name: Retry-After, Value: '60'}]}}", false),
    ];
    for (block, refused) in answers {
        let template = parse(&ACL.replace("BLOCK", block));
        assert_eq!(
            rate_blocks_without_retry_after(&template).len(),
            usize::from(refused),
            "Block: {block}"
        );
    }
}
