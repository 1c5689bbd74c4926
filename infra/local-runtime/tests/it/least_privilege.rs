//! Every function's policy is necessary: deployed with its `Policies` emptied (SAM still adds the
//! basic execution role), each function that calls AWS is refused with AWS's
//! `AccessDeniedException`, and the test names the call. (That the policies suffice is proven by
//! the fixture and end-to-end tests, which assert no call was refused; what an event source mapping
//! needs, by `principals`.)

use crate::support;

use cartwheel_domain::Role;
use cartwheel_functions::{deployed, registry::Handler};
use cartwheel_local::sandbox::Deployed;
use futures::future::join_all;
use support::{
    fixtures::{fixture, store_fixture_data},
    StackOptions, TestApp,
};

/// template.yaml's text with `function`'s `Policies:` block removed.
fn without_policies(function: &str) -> (String, String) {
    let text = cartwheel_template::EMBEDDED;
    let start = text
        .find(&format!("\n  {function}:\n"))
        .expect("the function is in template.yaml");
    let rest = &text[start + 1..];
    // The resource ends where the next one (a line indented by exactly two spaces) begins.
    let end = rest
        .match_indices("\n  ")
        .map(|(i, _)| i)
        .find(|i| rest[i + 3..].starts_with(|c: char| !c.is_whitespace()))
        .unwrap_or(rest.len());
    let resource = &rest[..end];
    let mut kept = Vec::new();
    let mut in_policies = false;
    for line in resource.lines() {
        if line == "      Policies:" {
            in_policies = true;
            continue;
        }
        if in_policies && (line.starts_with("        ") || line.trim().is_empty()) {
            continue;
        }
        in_policies = false;
        kept.push(line);
    }
    (resource.to_owned(), kept.join("\n"))
}

/// Runs `function`'s fixture in its sandbox; what it was refused.
async fn refused_calls(function: &str, binary: &str) -> Vec<String> {
    let (from, to) = without_policies(function);
    assert_ne!(from, to, "{function} declares no Policies to empty");
    let app = TestApp::start_stack(StackOptions::api_only().edit(&from, &to)).await;
    store_fixture_data(&app.store).await;
    let deployed = app.function(function);
    let event = fixture(binary);
    if let Some(error) = deployed.cold_start_error() {
        // A function that reads its secret at cold start is refused before any event.
        assert!(
            error.contains("AccessDeniedException"),
            "{function}: {error}"
        );
        return denials(&deployed);
    }
    match deployed::handler(function).expect("a registered function") {
        Handler::Http(_) => {
            let request = lambda_http::request::from_str(&event).unwrap();
            let response = deployed.http(request).await.unwrap();
            let error = response.expect_err("a refused call fails the request");
            assert!(
                format!("{error:?}").contains("AccessDeniedException"),
                "{function}: the handler saw {error:?}"
            );
        }
        Handler::Step(_) => {
            let outcome = deployed
                .step(serde_json::from_str(&event).unwrap())
                .await
                .unwrap();
            let error = outcome.expect_err("a refused call fails the step");
            assert!(
                format!("{error:?}").contains("AccessDeniedException"),
                "{function}: the step saw {error:?}"
            );
        }
        Handler::Queue(_) => {
            let response = deployed
                .queue(serde_json::from_str(&event).unwrap())
                .await
                .unwrap();
            assert_eq!(response.batch_item_failures.len(), 1, "{function}");
        }
        Handler::Stream(_) => {
            let response = deployed
                .stream(serde_json::from_str(&event).unwrap())
                .await
                .unwrap();
            assert!(!response.batch_item_failures.is_empty(), "{function}");
        }
        Handler::Schedule(_) => {
            // The sweeper reads the pending index first; with nothing pending it sends nothing.
            let outcome = deployed
                .schedule(serde_json::from_str(&event).unwrap())
                .await
                .unwrap();
            assert!(outcome.is_err(), "{function}: {outcome:?}");
        }
        Handler::Authorizer(_) => unreachable!("the authorizer calls AWS only at cold start"),
    }
    denials(&deployed)
}

fn denials(deployed: &Deployed) -> Vec<String> {
    deployed
        .sandbox
        .principal
        .denials()
        .into_iter()
        .map(|call| format!("{} on {}", call.action, call.resource))
        .collect()
}

#[tokio::test]
async fn every_function_that_calls_aws_is_refused_without_its_policy() {
    let template = support::template();
    let callers: Vec<_> = template
        .functions()
        .unwrap()
        .into_iter()
        .filter(|f| !template.policies(&f.logical_id).is_empty())
        .collect();
    assert!(
        callers.len() >= 25,
        "only {} functions declare policies",
        callers.len()
    );
    for chunk in callers.chunks(6) {
        let refused = join_all(
            chunk
                .iter()
                .map(|f| refused_calls(&f.logical_id, &f.binary)),
        )
        .await;
        for (function, refused) in chunk.iter().zip(refused) {
            assert!(
                !refused.is_empty(),
                "{} still succeeded with its policy emptied",
                function.logical_id
            );
            println!(
                "{} without its policy: refused {}",
                function.logical_id, refused[0]
            );
        }
    }
}

/// A function without policies may call nothing: each is an HTTP function, which the fixture
/// test runs in its sandbox asserting that no call was refused (a call would be). A list of them
/// here would be one more place to edit for every new route that calls nothing.
#[tokio::test]
async fn functions_without_policies_call_nothing() {
    let template = support::template();
    let quiet: Vec<String> = template
        .functions()
        .unwrap()
        .into_iter()
        .map(|f| f.logical_id)
        .filter(|id| template.policies(id).is_empty())
        .collect();
    assert!(quiet.iter().any(|id| id == "HealthFunction"), "{quiet:?}");
    for id in quiet {
        assert!(
            matches!(deployed::handler(&id), Some(Handler::Http(_))),
            "{id} has no policies, and only an HTTP function's fixture proves it calls nothing"
        );
    }
}

/// The authorizer's policy as template.yaml writes it (the first function that reads the key).
const AUTHORIZER_POLICY: &str = "            - Effect: Allow
              Action: [secretsmanager:GetSecretValue]
              Resource: !Ref JwtSigningKey
";

/// What refused the authorizer's cold start (it reads its signing key there).
async fn authorizer_refused(options: StackOptions) -> String {
    let app = TestApp::start_stack(options).await;
    let deployed = app.function("AuthorizerFunction");
    let error = deployed.cold_start_error().map(str::to_owned);
    error.expect("the authorizer's cold start was refused")
}

#[tokio::test]
async fn an_explicit_deny_wins_over_the_allow_beside_it() {
    let with_deny = format!(
        "{AUTHORIZER_POLICY}            - Effect: Deny
              Action: [secretsmanager:*]
              Resource: \"*\"
"
    );
    let options = StackOptions::api_only().edit(AUTHORIZER_POLICY, &with_deny);
    let error = authorizer_refused(options).await;
    assert!(error.contains("AccessDeniedException"), "{error}");
    assert!(error.contains("with an explicit deny"), "{error}");
}

#[tokio::test]
async fn a_condition_the_offline_stack_does_not_evaluate_refuses_the_stack() {
    let with_condition = format!(
        "{AUTHORIZER_POLICY}              Condition:
                StringEquals:
                  aws:RequestedRegion: us-east-1
"
    );
    let options = StackOptions::api_only().edit(AUTHORIZER_POLICY, &with_condition);
    let error = TestApp::try_start_stack(options)
        .await
        .err()
        .expect("the stack refuses a condition it would otherwise ignore")
        .to_string();
    assert!(
        error.contains("StringEquals aws:RequestedRegion") && error.contains("AuthorizerFunction"),
        "{error}"
    );
}

#[tokio::test]
async fn a_secret_policy_without_the_random_suffix_allows_nothing() {
    // Named, in the policy and in the call, without the `-XXXXXX` Secrets Manager adds.
    let by_name = "            - Effect: Allow
              Action: [secretsmanager:GetSecretValue]
              Resource: !Sub \"arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}-JwtSigningKey\"
";
    let options = StackOptions::api_only()
        .edit(
            "JWT_SECRET_ID: !Ref JwtSigningKey",
            "JWT_SECRET_ID: !Sub \"${AWS::StackName}-JwtSigningKey\"",
        )
        .edit(AUTHORIZER_POLICY, by_name);
    let error = authorizer_refused(options).await;
    assert!(error.contains("AccessDeniedException"), "{error}");
    assert!(
        error.contains("JwtSigningKey-"),
        "evaluated on its full ARN: {error}"
    );
}

#[tokio::test]
async fn a_queue_policy_condition_other_than_the_source_arn_refuses_the_stack() {
    let options = StackOptions::api_only().edit(
        "            Condition:\n              ArnEquals:\n",
        "            Condition:\n              StringEquals:\n                aws:SourceAccount: \"123456789012\"\n              ArnEquals:\n",
    );
    let error = TestApp::try_start_stack(options)
        .await
        .err()
        .expect("the stack refuses a queue policy condition it would otherwise ignore")
        .to_string();
    assert!(error.contains("StringEquals aws:SourceAccount"), "{error}");
}

/// SAM adds an HTTP API authorizer's invoke permission only when asked to; without it, API
/// Gateway cannot call the authorizer, and every route it guards answers 500.
#[tokio::test]
async fn an_authorizer_api_gateway_may_not_invoke_fails_the_routes_it_guards() {
    let options =
        StackOptions::api_only().edit("            EnableFunctionDefaultPermissions: true\n", "");
    let app = TestApp::start_stack(options).await;
    let (_, token) = app.user_token(Role::Customer).await;
    let guarded = app
        .send(reqwest::Method::GET, "/orders", Some(&token), None)
        .await;
    assert_eq!(guarded.status(), reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        guarded.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"message": "Internal Server Error"})
    );
    assert_eq!(app.get("/products").await.status(), reqwest::StatusCode::OK);
}
