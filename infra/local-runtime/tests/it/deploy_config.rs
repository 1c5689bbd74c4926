//! samconfig.toml deploys what template.yaml declares, with no secret in either: a deploy that
//! works first time, non-interactively.

use crate::support;

use std::collections::BTreeMap;

const SAMCONFIG: &str = include_str!("../../../../samconfig.toml");

/// `Key="value" Key2="value2"`, as SAM writes `parameter_overrides`.
fn overrides(text: &str) -> BTreeMap<String, String> {
    text.split("\" ")
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.trim().to_owned(), value.trim_matches('"').to_owned()))
        })
        .collect()
}

fn deploy(config: &toml::Table, env: &str) -> toml::Table {
    config[env]["deploy"]["parameters"]
        .as_table()
        .unwrap_or_else(|| panic!("samconfig.toml has no [{env}.deploy.parameters]"))
        .clone()
}

#[test]
fn dev_and_prod_deploy_with_settings_the_template_declares_and_no_secret() {
    let config: toml::Table = toml::from_str(SAMCONFIG).expect("samconfig.toml parses");
    let template = support::template();
    let parameters = template.parameter_defaults();
    assert!(
        !cartwheel_template::EMBEDDED.contains("NoEcho"),
        "a NoEcho parameter is a secret someone must type at every guided deploy"
    );
    for env in ["dev", "prod"] {
        let deploy = deploy(&config, env);
        for key in ["stack_name", "region", "capabilities", "s3_prefix"] {
            assert!(deploy.contains_key(key), "[{env}] has no {key}");
        }
        assert_eq!(deploy["resolve_s3"].as_bool(), Some(true), "[{env}]");
        let overrides = overrides(deploy["parameter_overrides"].as_str().unwrap());
        for name in overrides.keys() {
            assert!(
                parameters.contains_key(name),
                "[{env}] overrides {name}, which template.yaml does not declare with a default"
            );
        }
    }
    assert_eq!(
        deploy(&config, "prod")["confirm_changeset"].as_bool(),
        Some(true)
    );
    assert_ne!(
        deploy(&config, "dev")["stack_name"],
        deploy(&config, "prod")["stack_name"]
    );
}

#[test]
fn overrides_are_read_as_sam_writes_them() {
    let parsed =
        overrides(r#"Stage="prod" CorsAllowedOrigins="https://a.example,https://b.example""#);
    assert_eq!(parsed["Stage"], "prod");
    assert_eq!(
        parsed["CorsAllowedOrigins"],
        "https://a.example,https://b.example"
    );
}

/// Each stack declares its sender as an SES identity: two stacks in one account with one sender
/// fail (`AlreadyExists`), and the template's default sender can never be verified.
#[test]
fn each_environment_sends_from_a_sender_of_its_own_that_can_be_verified() {
    let config: toml::Table = toml::from_str(SAMCONFIG).expect("samconfig.toml parses");
    let defaults = support::template().parameter_defaults();
    let sender = |env: &str| {
        let deploy = deploy(&config, env);
        let overrides = overrides(deploy["parameter_overrides"].as_str().unwrap());
        for name in ["NotificationSender", "StockAlertEmail"] {
            assert!(
                overrides.contains_key(name),
                "[{env}] leaves {name} at its default"
            );
            assert_ne!(overrides[name], defaults[name], "[{env}] {name}");
        }
        overrides["NotificationSender"].clone()
    };
    assert_ne!(sender("dev"), sender("prod"));
}
