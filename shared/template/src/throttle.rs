//! The HTTP API's throttles: `DefaultRouteSettings` gives every route a token bucket (burst,
//! steady rate per second) and `RouteSettings` overrides it per route key. API Gateway answers a
//! request past its route's bucket with 429 before any function runs.

use crate::model::{get, Template};
use serde_yaml::Value;
use std::collections::HashMap;

/// One route's bucket: at most `burst` requests at once, refilled at `rate` per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub burst: u64,
    pub rate: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThrottleSpec {
    /// Every route's, unless `routes` names it; `None`: only the account's limits apply.
    pub default: Option<Throttle>,
    /// By route key (`POST /users`).
    pub routes: HashMap<String, Throttle>,
}

fn throttle(settings: &Value) -> Option<Throttle> {
    Some(Throttle {
        burst: get(settings, "ThrottlingBurstLimit")?.as_u64()?,
        rate: get(settings, "ThrottlingRateLimit")?.as_f64()?,
    })
}

impl ThrottleSpec {
    /// The bucket of `route_key`.
    pub fn of(&self, route_key: &str) -> Option<Throttle> {
        self.routes.get(route_key).copied().or(self.default)
    }
}

impl Template {
    /// The HttpApi's throttles, as literal numbers (a stage's `RouteSettings` is untyped JSON, so
    /// the template writes them as such).
    pub fn throttles(&self) -> ThrottleSpec {
        let Some((_, api)) = self.resources_of_type("AWS::Serverless::HttpApi").next() else {
            return ThrottleSpec::default();
        };
        let props = get(api, "Properties");
        ThrottleSpec {
            default: props
                .and_then(|p| get(p, "DefaultRouteSettings"))
                .and_then(throttle),
            routes: props
                .and_then(|p| get(p, "RouteSettings"))
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .filter_map(|(key, settings)| Some((key.as_str()?.to_owned(), throttle(settings)?)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{EnvValue, Expr, Template, EMBEDDED};

    fn route_key(route: &cartwheel_routes::RouteDecl) -> String {
        let method = route.method.as_deref().unwrap_or("ANY");
        format!("{method} {}", route.path.as_deref().unwrap_or("$default"))
    }

    /// How long one argon2 request holds its execution, at most, for the sizing below; the
    /// README says what happens past it.
    const HELD_SECONDS: f64 = 1.0;

    /// API Gateway must shed a flood with 429 before Lambda throttles a function with reserved
    /// concurrency (which API Gateway would answer with 500): its routes' burst, plus what the
    /// bucket refills while those requests run, fits in the reservation.
    #[test]
    fn every_route_of_a_function_with_reserved_concurrency_sheds_load_before_it() {
        let template = Template::parse(EMBEDDED).unwrap();
        let throttles = template.throttles();
        let defaults = template.parameter_defaults();
        let mut checked = 0;
        for function in template.functions().unwrap() {
            let reserved = match template.reserved_concurrency(&function.logical_id) {
                Some(Expr::Literal(n)) => n,
                Some(Expr::Ref(parameter)) => defaults[&parameter].clone(),
                Some(other) => panic!("{}: {other:?}", function.logical_id),
                None => continue,
            };
            let reserved: f64 = reserved.parse().unwrap();
            for route in &function.routes {
                let key = route_key(route);
                let throttle = throttles.of(&key).expect("a throttled route");
                assert!(
                    throttle.burst as f64 + throttle.rate * HELD_SECONDS <= reserved,
                    "{key}: burst {} + {} a second for {HELD_SECONDS} s exceeds {} reserved executions of {}",
                    throttle.burst, throttle.rate, reserved, function.logical_id
                );
                checked += 1;
            }
        }
        assert!(checked >= 2, "the sign-up and login routes are checked");
    }

    /// A password route's flood must be shed by the function's own limit (429 with Retry-After)
    /// before the route's bucket sheds it (429 without): the limit admits no more at once than
    /// the burst, nor more a second than the rate.
    #[test]
    fn the_password_check_limit_binds_before_the_route_throttle() {
        let template = Template::parse(EMBEDDED).unwrap();
        let (throttles, defaults) = (template.throttles(), template.parameter_defaults());
        let mut checked = 0;
        for function in template.functions().unwrap() {
            let limit = template
                .environment(&function.logical_id)
                .into_iter()
                .find_map(|(name, value)| match value {
                    EnvValue::Parameter(p) if name == "PASSWORD_HASH_LIMIT" => Some(p),
                    _ => None,
                });
            let Some(parameter) = limit else { continue };
            let (max, window) = defaults[&parameter].split_once('/').unwrap();
            let (max, window): (f64, f64) = (max.parse().unwrap(), window.parse().unwrap());
            for route in &function.routes {
                let key = route_key(route);
                let throttle = throttles.of(&key).expect("a throttled route");
                assert!(
                    max <= throttle.burst as f64 && max / window <= throttle.rate,
                    "{key}: {parameter} {max}/{window} passes the throttle {throttle:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 2, "the sign-up and login routes are checked");
    }
}
