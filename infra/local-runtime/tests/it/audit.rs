//! Deploy-time defects of template.yaml that neither cfn-lint nor `sam validate` reports: wildcard
//! IAM grants, logs kept forever, alarms nobody hears, names that outgrow AWS's limits in a stack
//! with a long name, and queues that hand a message to a second poller while the first still works
//! on it. Each check takes a parsed template and returns its violations, and each is shown to find
//! its defect in a small bad template. Nothing here needs the emulators.

use cartwheel_local::{
    iam::{principal_statements, Statement},
    resources::Resources,
};
use cartwheel_template::{Effect, Expr, Template};

/// Actions that authorize no particular resource, so `*` is the only resource they can name.
const RESOURCELESS_ACTIONS: [&str; 14] = [
    "cloudwatch:PutMetricData",
    // Step Functions' log delivery to CloudWatch Logs.
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
];

/// AWS's length limits, by the resource type and the property that names the resource.
const NAME_LIMITS: [(&str, &str, usize); 17] = [
    ("AWS::Events::EventBus", "Name", 256),
    ("AWS::ApiGatewayV2::Api", "Name", 128),
    (
        "AWS::CloudFront::CachePolicy",
        "CachePolicyConfig.Name",
        128,
    ),
    ("AWS::WAFv2::WebACL", "VisibilityConfig.MetricName", 128),
    ("AWS::CloudWatch::Dashboard", "DashboardName", 255),
    ("AWS::Events::Archive", "ArchiveName", 48),
    ("AWS::SQS::Queue", "QueueName", 80),
    ("AWS::Serverless::Function", "FunctionName", 64),
    ("AWS::Lambda::Function", "FunctionName", 64),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::CloudWatch::Alarm", "AlarmName", 255),
    ("AWS::Serverless::StateMachine", "Name", 80),
    ("AWS::StepFunctions::StateMachine", "StateMachineName", 80),
    ("AWS::Pipes::Pipe", "Name", 64),
    ("AWS::SNS::Topic", "TopicName", 256),
    ("AWS::IAM::Role", "RoleName", 64),
    ("AWS::SecretsManager::Secret", "Name", 512),
];

/// The longest stack name CloudFormation accepts, and a region whose name is as long as any.
const LONGEST_STACK_NAME: usize = 128;
const LONG_REGION: &str = "ap-southeast-2";

type Check = fn(&Template) -> Vec<String>;

const CHECKS: [(&str, Check); 6] = [
    ("wildcard action", wildcard_actions),
    ("wildcard resource", wildcard_resources),
    ("log group", functions_without_log_groups),
    ("alarm", alarms_without_actions),
    ("name length", names_beyond_limits),
    ("visibility timeout", short_visibility_timeouts),
];

/// Every intrinsic at its longest: `AWS::StackName` has 128 characters (`AWS::StackId` ends in a
/// UUID, as always), and a resource's `!Ref` and name attributes give the longest name AWS would
/// generate for its type (its logical id, padded to the limit), else its logical id. Parameters
/// take their defaults.
fn longest(template: &Template) -> Resources {
    let stack = "s".repeat(LONGEST_STACK_NAME);
    let account = "123456789012";
    let mut resources = Resources::new(LONG_REGION, account, &stack, template.parameter_defaults());
    for (id, kind) in template.resource_types() {
        let name = match NAME_LIMITS.iter().find(|(k, ..)| *k == kind) {
            Some(&(.., limit)) => format!("{id:n<limit$.limit$}"),
            None => id.clone(),
        };
        let service = kind.split("::").nth(1).unwrap_or_default().to_lowercase();
        let arn = format!("arn:aws:{service}:{LONG_REGION}:{account}:{name}");
        let stream = format!("{arn}/stream/2026-01-01T00:00:00.000");
        let attributes = [
            ("Arn", arn.as_str()),
            ("StreamArn", &stream),
            ("Name", &name),
            ("QueueName", &name),
        ];
        resources.add(&id, &name, &attributes);
    }
    resources
}

/// Each statement the template declares, by principal: the `Policies` of every function and state
/// machine (SAM policy templates expanded) and every IAM role's. SAM's own
/// AWSLambdaBasicExecutionRole (logs on `*`) is not the template's to change, so it is left out.
fn grants(template: &Template) -> Vec<Result<(String, Statement), String>> {
    let resources = longest(template);
    let mut grants = Vec::new();
    for (id, kind) in template.resource_types() {
        let entries = match kind.as_str() {
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => template.policies(&id),
            "AWS::IAM::Role" => template.role_policies(&id),
            _ => continue,
        };
        match principal_statements(&id, &entries, &resources) {
            Ok(statements) => grants.extend(statements.into_iter().map(|s| Ok((id.clone(), s)))),
            Err(unexpandable) => grants.push(Err(unexpandable.to_string())),
        }
    }
    grants
}

/// No statement allows every action, or every action of a service.
fn wildcard_actions(template: &Template) -> Vec<String> {
    grants(template)
        .into_iter()
        .flat_map(|grant| match grant {
            Err(unexpandable) => vec![unexpandable],
            Ok((_, statement)) if statement.effect == Effect::Deny => Vec::new(),
            Ok((principal, statement)) if statement.not_action => vec![format!(
                "{principal} allows every action but {:?}",
                statement.actions
            )],
            Ok((principal, statement)) => statement
                .actions
                .iter()
                .filter(|a| *a == "*" || a.ends_with(":*"))
                .map(|a| format!("{principal} allows {a}"))
                .collect(),
        })
        .collect()
}

/// No statement allows an action on `*` that could name its resource instead.
fn wildcard_resources(template: &Template) -> Vec<String> {
    let resourceless = |action: &str| {
        RESOURCELESS_ACTIONS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(action))
    };
    grants(template)
        .into_iter()
        .flat_map(|grant| match grant {
            Err(unexpandable) => vec![unexpandable],
            Ok((principal, statement))
                if statement.effect == Effect::Allow
                    && (statement.not_resource || statement.resources.iter().any(|r| r == "*")) =>
            {
                statement
                    .actions
                    .iter()
                    .filter(|a| !resourceless(a))
                    .map(|a| format!("{principal} allows {a} on *"))
                    .collect()
            }
            Ok(_) => Vec::new(),
        })
        .collect()
}

/// Every function logs to a log group of the template's (`LoggingConfig.LogGroup`) that has a
/// retention, so no log is kept forever and the group exists before the first invocation.
fn functions_without_log_groups(template: &Template) -> Vec<String> {
    let retained: Vec<String> = template
        .ids_of_type("AWS::Logs::LogGroup")
        .into_iter()
        .filter(|group| template.property(group, "RetentionInDays").is_some())
        .collect();
    template
        .ids_of_type("AWS::Serverless::Function")
        .into_iter()
        .filter(|function| {
            !matches!(
                template.property(function, "LoggingConfig.LogGroup"),
                Some(Expr::Ref(group)) if retained.contains(&group)
            )
        })
        .map(|function| {
            format!("{function} does not log to a log group of the template with a RetentionInDays")
        })
        .collect()
}

/// Every alarm notifies someone when it fires.
fn alarms_without_actions(template: &Template) -> Vec<String> {
    template
        .ids_of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|alarm| template.property_list(alarm, "AlarmActions").is_empty())
        .map(|alarm| format!("{alarm} has no AlarmActions"))
        .collect()
}

/// Every name the template sets fits AWS's limit in a stack with the longest name.
fn names_beyond_limits(template: &Template) -> Vec<String> {
    let resources = longest(template);
    let mut violations = Vec::new();
    for (id, kind) in template.resource_types() {
        for (_, property, limit) in NAME_LIMITS.iter().filter(|(k, ..)| *k == kind) {
            let Some(name) = template.property(&id, property) else {
                continue;
            };
            match resources.resolve(&name) {
                Ok(name) if name.len() > *limit => violations.push(format!(
                    "{id}'s {property} can be {} characters long, more than {limit}: {name}",
                    name.len()
                )),
                Ok(_) => {}
                Err(unresolved) => violations.push(format!("{id}'s {property}: {unresolved}")),
            }
        }
    }
    violations
}

/// A queue that feeds a function hides a received message for at least six times the function's
/// timeout plus the batching window, as Lambda advises: otherwise a batch still being worked on
/// (or waiting out a throttle) comes back to another poller and runs twice.
fn short_visibility_timeouts(template: &Template) -> Vec<String> {
    let queues = template.queues();
    let seconds = |expr: Option<Expr>| match expr {
        Some(Expr::Literal(n)) => n.parse().ok(),
        _ => None,
    };
    let mut violations = Vec::new();
    for mapping in template.ids_of_type("AWS::Lambda::EventSourceMapping") {
        let (Some(Expr::GetAtt(queue, _)), Some(Expr::Ref(function) | Expr::GetAtt(function, _))) = (
            template.property(&mapping, "EventSourceArn"),
            template.property(&mapping, "FunctionName"),
        ) else {
            continue;
        };
        let Some(spec) = queues.iter().find(|q| q.logical_id == queue) else {
            continue;
        };
        let window = seconds(template.property(&mapping, "MaximumBatchingWindowInSeconds"));
        let needed = 6 * template.timeout_seconds(&function) + window.unwrap_or(0);
        let visibility = u64::from(spec.visibility_timeout_seconds);
        if visibility < needed {
            violations.push(format!(
                "{queue}'s VisibilityTimeout is {visibility} s; {mapping} needs at least {needed} s (6 × {function}'s Timeout + its MaximumBatchingWindowInSeconds)"
            ));
        }
    }
    violations
}

#[test]
fn template_yaml_passes_every_check() {
    let template = Template::parse(cartwheel_template::EMBEDDED).expect("template.yaml parses");
    let violations: Vec<String> = CHECKS
        .iter()
        .flat_map(|(name, check)| {
            check(&template)
                .into_iter()
                .map(move |v| format!("{name}: {v}"))
        })
        .collect();
    assert!(
        violations.is_empty(),
        "template.yaml:\n{}",
        violations.join("\n")
    );
}

fn parse(yaml: &str) -> Template {
    Template::parse(yaml).expect("the snippet parses")
}

#[test]
fn a_wildcard_action_is_found_in_a_function_a_role_and_a_state_machine() {
    let template = parse(
        r#"
Resources:
  Q: {Type: AWS::SQS::Queue}
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - {Effect: Allow, Action: ["sqs:*"], Resource: !GetAtt Q.Arn}
  R:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: "*", Resource: !GetAtt Q.Arn}
  M:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies:
        - SQSSendMessagePolicy: {QueueName: !GetAtt Q.QueueName}
"#,
    );
    assert_eq!(
        wildcard_actions(&template),
        ["F allows sqs:*", "R allows *"]
    );
}

#[test]
fn a_wildcard_resource_is_found_unless_the_action_takes_none() {
    let template = parse(
        r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - {Effect: Allow, Action: [dynamodb:GetItem, xray:PutTraceSegments], Resource: "*"}
            - {Effect: Allow, Action: [cloudwatch:PutMetricData], Resource: "*"}
"#,
    );
    assert_eq!(
        wildcard_resources(&template),
        ["F allows dynamodb:GetItem on *"]
    );
}

#[test]
fn a_function_that_does_not_log_to_a_retained_group_of_the_template_is_found() {
    let template = parse(
        r#"
Resources:
  Kept:
    Type: AWS::Serverless::Function
    Properties: {LoggingConfig: {LogGroup: !Ref KeptLogs}}
  KeptLogs:
    Type: AWS::Logs::LogGroup
    Properties: {RetentionInDays: 7}
  Forever:
    Type: AWS::Serverless::Function
    Properties: {LoggingConfig: {LogGroup: !Ref ForeverLogs}}
  ForeverLogs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: /forever}
  Unlogged: {Type: AWS::Serverless::Function}
  Elsewhere:
    Type: AWS::Serverless::Function
    Properties: {LoggingConfig: {LogGroup: /aws/lambda/elsewhere}}
"#,
    );
    let found = functions_without_log_groups(&template);
    assert_eq!(found.len(), 3, "{found:?}");
    for function in ["Forever ", "Unlogged ", "Elsewhere "] {
        assert!(found.iter().any(|v| v.starts_with(function)), "{found:?}");
    }
}

#[test]
fn an_alarm_without_an_action_is_found() {
    let template = parse(
        r#"
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Heard:
    Type: AWS::CloudWatch::Alarm
    Properties: {AlarmActions: [!Ref Topic]}
  Silent:
    Type: AWS::CloudWatch::Alarm
    Properties: {OKActions: [!Ref Topic]}
"#,
    );
    assert_eq!(
        alarms_without_actions(&template),
        ["Silent has no AlarmActions"]
    );
}

#[test]
fn a_name_that_outgrows_its_limit_in_a_long_named_stack_is_found() {
    let template = parse(
        r#"
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "${AWS::StackName}-events"}
  ShortArchive:
    Type: AWS::Events::Archive
    Properties:
      ArchiveName: !Join ["-", ["cartwheel", !Select [2, !Split ["/", !Ref AWS::StackId]]]]
  LongArchive:
    Type: AWS::Events::Archive
    Properties: {ArchiveName: !Sub "${AWS::StackName}-archive"}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${Bus}-queue"}
"#,
    );
    let found = names_beyond_limits(&template);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("LongArchive's ArchiveName can be 136 characters long, more than 48")
    );
    assert!(found[1].starts_with("Queue's QueueName can be 262 characters long, more than 80"));
}

#[test]
fn a_queue_that_shows_a_batch_again_before_its_function_could_finish_is_found() {
    let template = parse(
        r#"
Globals:
  Function: {Timeout: 10}
Resources:
  Quick: {Type: AWS::Serverless::Function}
  Slow:
    Type: AWS::Serverless::Function
    Properties: {Timeout: 30}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 90}
  QuickMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {FunctionName: !Ref Quick, EventSourceArn: !GetAtt Queue.Arn, MaximumBatchingWindowInSeconds: 5}
  SlowMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {FunctionName: !Ref Slow, EventSourceArn: !GetAtt Queue.Arn, MaximumBatchingWindowInSeconds: 5}
"#,
    );
    let found = short_visibility_timeouts(&template);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("Queue's VisibilityTimeout is 90 s; SlowMapping needs at least 185 s")
    );
}
