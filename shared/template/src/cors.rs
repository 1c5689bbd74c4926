//! The HTTP API's `CorsConfiguration`: with one, API Gateway answers browsers' preflight requests
//! itself and adds the CORS headers to every answer, so the offline gateway must do the same.

use crate::model::{get, Template};
use serde_yaml::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsSpec {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<u64>,
}

impl Template {
    /// The HttpApi's CORS configuration; a `!Ref` to a parameter takes the parameter's default
    /// (a `CommaDelimitedList` split at its commas).
    pub fn cors(&self) -> Option<CorsSpec> {
        let (_, api) = self.resources_of_type("AWS::Serverless::HttpApi").next()?;
        let cors = get(get(api, "Properties")?, "CorsConfiguration")?;
        let strings = |key: &str| self.strings(get(cors, key));
        Some(CorsSpec {
            allow_origins: strings("AllowOrigins"),
            allow_methods: strings("AllowMethods"),
            allow_headers: strings("AllowHeaders"),
            expose_headers: strings("ExposeHeaders"),
            max_age_seconds: get(cors, "MaxAge").and_then(Value::as_u64),
        })
    }

    fn strings(&self, value: Option<&Value>) -> Vec<String> {
        match value {
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            Some(Value::Tagged(reference)) if reference.tag == "Ref" => {
                let defaults = self.parameter_defaults();
                let parameter = reference.value.as_str().unwrap_or_default();
                defaults.get(parameter).map_or_else(Vec::new, |list| {
                    list.split(',').map(|s| s.trim().to_owned()).collect()
                })
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_come_from_the_parameter_default_and_methods_from_the_list() {
        let template = Template::parse(
            r#"
Parameters:
  Origins: { Type: CommaDelimitedList, Default: "https://a.example, https://b.example" }
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: !Ref Origins
        AllowMethods: [GET, POST]
        MaxAge: 600
"#,
        )
        .unwrap();
        let cors = template.cors().unwrap();
        assert_eq!(
            cors.allow_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(cors.allow_methods, ["GET", "POST"]);
        assert_eq!(cors.max_age_seconds, Some(600));
        assert!(cors.allow_headers.is_empty());
    }
}
