//! template.yaml and the code agree, and unmatched requests get API-Gateway-shaped answers.

use crate::support;

use cartwheel_functions::{deployed, registry};
use cartwheel_template::Expr;
use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;
use support::{assert_problem, template, StackOptions, TestApp};

#[test]
fn every_template_function_has_a_handler_and_every_handler_is_deployed() {
    let declared: BTreeSet<String> = template()
        .functions()
        .unwrap()
        .into_iter()
        .map(|f| f.logical_id)
        .collect();
    let registered: BTreeSet<String> = deployed::all()
        .into_iter()
        .map(|handler| handler.name().to_owned())
        .collect();
    assert_eq!(declared, registered);
}

/// The logical id of the `deployed` static a binary's source runs.
fn deployed_name(binary_source: &str) -> Option<String> {
    let (_, after) = binary_source.split_once("deployed::")?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    let (_, logical_id) = deployed::STATICS.iter().find(|(s, _)| *s == name)?;
    Some((*logical_id).to_owned())
}

#[test]
fn every_function_has_a_binary_that_runs_its_handler() {
    let bin_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../functions/src/bin");
    let mut binaries = BTreeSet::new();
    for function in template().functions().unwrap() {
        let source = std::fs::read_to_string(format!("{bin_dir}/{}.rs", function.binary))
            .unwrap_or_else(|_| {
                panic!(
                    "{} names binary {}, which does not exist",
                    function.logical_id, function.binary
                )
            });
        assert_eq!(
            deployed_name(&source).as_deref(),
            Some(function.logical_id.as_str()),
            "{} must run {}",
            function.binary,
            function.logical_id
        );
        binaries.insert(format!("{}.rs", function.binary));
    }
    let present: BTreeSet<String> = std::fs::read_dir(bin_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        present, binaries,
        "every binary is deployed by template.yaml"
    );
}

/// The routes of the table in the contract's description (`api/openapi.yaml`, `info.description`:
/// their first column, the query string left out).
fn documented_routes() -> BTreeSet<String> {
    let contract = include_str!("../../../../api/openapi.yaml");
    contract
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("| `"))
        .filter_map(|cell| cell.split('`').next())
        .filter(|route| {
            ["GET ", "POST ", "PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| route.starts_with(m))
        })
        .map(|route| route.split('?').next().unwrap_or(route).to_owned())
        .collect()
}

#[test]
fn the_routes_are_the_documented_api() {
    let table = template().route_table().unwrap();
    let routes: BTreeSet<String> = table.route_keys().collect();
    let documented = documented_routes();
    assert!(documented.len() >= 20, "{documented:?}");
    assert_eq!(routes, documented);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_as_problems() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    assert_problem(app.get("/nowhere").await, StatusCode::NOT_FOUND, "/nowhere").await;
    assert_problem(
        app.get("/products/").await,
        StatusCode::NOT_FOUND,
        "/products/",
    )
    .await;
    let wrong = app
        .send(
            Method::PATCH,
            "/products/01ARZ3NDEKTSV4RRFFQ69G5FAV",
            None,
            Some("{}"),
        )
        .await;
    assert_eq!(wrong.headers()["allow"], "DELETE, GET, PUT");
    assert_problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "PATCH").await;
    assert_problem(
        app.send(Method::DELETE, "/health", None, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "GET",
    )
    .await;
}

#[test]
fn every_environment_variable_in_the_template_is_one_the_functions_read() {
    let template = template();
    for function in template.functions().unwrap() {
        for (name, _) in template.environment(&function.logical_id) {
            assert!(
                name == "TABLE_NAME"
                    || cartwheel_functions::config::SETTINGS.contains(&name.as_str()),
                "{}: {name} is read by no function",
                function.logical_id
            );
        }
    }
}

#[test]
fn everything_an_event_source_pipe_or_rule_feeds_has_somewhere_to_put_what_fails() {
    let t = template();
    let queues = t.queues();
    let has_dlq = |id: &str| {
        queues
            .iter()
            .any(|q| q.logical_id == id && q.dead_letter.is_some())
    };
    for function in t.functions().unwrap() {
        for trigger in &function.triggers {
            match trigger {
                cartwheel_template::Trigger::Queue { queue, .. } => {
                    assert!(
                        has_dlq(queue),
                        "{} reads {queue}, which has no DLQ",
                        function.logical_id
                    )
                }
                cartwheel_template::Trigger::TableStream { on_failure, .. } => assert!(
                    on_failure.is_some(),
                    "{}'s stream source has no on-failure destination",
                    function.logical_id
                ),
                cartwheel_template::Trigger::Schedule { .. } => {}
            }
        }
    }
    for pipe in t.pipes().unwrap() {
        assert!(
            pipe.dead_letter_queue.is_some(),
            "{} has no dead-letter queue",
            pipe.logical_id
        );
        assert!(
            has_dlq(&pipe.target_queue),
            "{}'s target has no DLQ",
            pipe.logical_id
        );
    }
    for rule in t.rules().unwrap() {
        for target in &rule.target_queues {
            assert!(
                has_dlq(target),
                "{} targets {target}, which has no DLQ",
                rule.logical_id
            );
        }
    }
}

/// With the HttpApi's `CorsConfiguration`, a browser's preflight (which carries no token) reaches
/// the `$default` route, as in AWS, and must come back 2xx with the CORS headers: `route-not-found`
/// answers 204 and the gateway adds them. Answers to an allowed origin are marked; another origin
/// gets no CORS headers, so its browser blocks the answer.
#[tokio::test]
async fn browsers_preflight_is_answered_by_the_gateway_for_allowed_origins() {
    let app = TestApp::start().await;
    let origin = "http://localhost:5173";
    let preflight = app
        .http
        .request(Method::OPTIONS, app.url("/orders"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], origin);
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("authorization"));

    let allowed = app
        .http
        .get(app.url("/health"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.headers()["access-control-allow-origin"], origin);

    let other = app
        .http
        .get(app.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_bus_and_its_archive_are_named_as_the_template_names_them() {
    let app = TestApp::start().await;
    let bus = app.stack.bus.clone().expect("the stack has a bus");
    assert_eq!(bus, format!("{}-events", app.stack.name));
    let resources = &app.stack.functions.resources;
    let spec = app.template.buses().remove(0);
    let archive = spec
        .archive
        .and_then(|a| a.name)
        .expect("the archive is named");
    let archive = resources.resolve(&archive).unwrap();
    assert_eq!(archive.len(), "cartwheel-".len() + 36, "{archive}");
    let events = aws_sdk_eventbridge::Client::new(&support::sdk_config().await);
    let described = events
        .describe_archive()
        .archive_name(&archive)
        .send()
        .await
        .expect("the offline stack created the archive");
    let bus_arn = resources
        .resolve(&cartwheel_template::Expr::GetAtt(
            "EventBus".into(),
            "Arn".into(),
        ))
        .unwrap();
    assert_eq!(described.event_source_arn(), Some(bus_arn.as_str()));
}

/// `ReservedConcurrentExecutions: !Ref PasswordRouteConcurrency` bounds the argon2 routes offline
/// too, at the parameter's value.
#[tokio::test]
async fn the_argon2_routes_keep_their_reserved_concurrency_offline() {
    let defaults = support::template().parameter_defaults();
    let reserved: u32 = defaults["PasswordRouteConcurrency"].parse().unwrap();
    let app = TestApp::start().await;
    for function in ["SignUpFunction", "LoginFunction"] {
        assert_eq!(
            app.function(function).sandbox.reserved_concurrency,
            Some(reserved),
            "{function}"
        );
    }
}

/// api/openapi.yaml documents exactly the HTTP API's routes, each as the operation named after
/// its function (`GET /products/{productId}` → `GetProduct`); `$default` is outside the contract.
#[test]
fn the_openapi_contract_has_exactly_the_template_routes() {
    let contract: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../../../api/openapi.yaml")).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in contract["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "patch"].contains(&method) {
                documented.insert((
                    method.to_ascii_uppercase(),
                    path.as_str().unwrap().to_owned(),
                    operation["operationId"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    let mut deployed = BTreeSet::new();
    for function in template().functions().unwrap() {
        for route in &function.routes {
            let (Some(method), Some(path)) = (&route.method, &route.path) else {
                continue;
            };
            if path.starts_with('/') {
                let operation = function.logical_id.trim_end_matches("Function").to_owned();
                deployed.insert((method.clone(), path.clone(), operation));
            }
        }
    }
    assert!(deployed.len() > 30, "the template's routes are read");
    assert_eq!(documented, deployed);
}

/// With `EnableCdn=true`, the API's own endpoint serves only what CloudFront forwards: requests
/// carrying the `X-Origin-Verify` value the distribution adds (the stack id's UUID). The WebSocket
/// API, not behind the CDN, is not gated.
#[tokio::test]
async fn behind_the_cdn_the_api_answers_only_requests_that_came_through_it() {
    let app = TestApp::start_stack(StackOptions::api_only().parameter("EnableCdn", "true")).await;
    let stack_id = Box::new(Expr::Ref("AWS::StackId".into()));
    let uuid = Expr::Select(2, Box::new(Expr::Split("/".into(), stack_id)));
    let secret = app.stack.functions.resources.resolve(&uuid).unwrap();
    let get = |header: Option<&str>| {
        let mut request = app.http.get(format!("{}/products", app.base_url));
        if let Some(value) = header {
            request = request.header("x-origin-verify", value);
        }
        request.send()
    };
    let around = get(None).await.unwrap();
    assert_problem(around, StatusCode::FORBIDDEN, "only through its CDN").await;
    let guessed = get(Some("not-it")).await.unwrap();
    assert_eq!(guessed.status(), StatusCode::FORBIDDEN);
    assert_eq!(get(Some(&secret)).await.unwrap().status(), StatusCode::OK);

    let without = TestApp::start().await;
    let direct = without.send(Method::GET, "/products", None, None).await;
    assert_eq!(direct.status(), StatusCode::OK, "no CDN, no gate");
}

/// An HTTP function that no route of the HTTP API invokes (the WebSocket API's) is not behind the
/// CDN, so it must not check the CDN's header: its `ORIGIN_VERIFY` is empty.
#[test]
fn only_the_http_api_s_functions_check_the_cdn_s_header() {
    let template = template();
    let functions = template.functions().unwrap();
    let mut exempt = Vec::new();
    for handler in deployed::all() {
        let registry::Handler::Http(_) = handler else {
            continue;
        };
        let function = functions.iter().find(|f| f.logical_id == handler.name());
        if function.is_some_and(|f| !f.routes.is_empty()) {
            continue;
        }
        let setting = template
            .environment(handler.name())
            .into_iter()
            .rev()
            .find(|(name, _)| name == "ORIGIN_VERIFY");
        assert_eq!(
            setting.map(|(_, value)| value),
            Some(cartwheel_template::EnvValue::Literal(String::new())),
            "{}",
            handler.name()
        );
        exempt.push(handler.name());
    }
    assert_eq!(exempt, ["WsConnectFunction", "WsDisconnectFunction"]);
}
