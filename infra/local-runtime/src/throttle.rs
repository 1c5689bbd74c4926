//! API Gateway's route throttles offline: a token bucket per route key, sized by the template
//! (`DefaultRouteSettings`, `RouteSettings`). A request that finds its route's bucket empty is
//! answered 429 `{"message":"Too Many Requests"}` before any function runs, and, as in AWS, with no
//! `Retry-After`. The setting `CARTWHEEL_GATEWAY_THROTTLE` (`off`, or a factor such as `10`)
//! raises the buckets for benchmarks that load one machine past what one route allows.

use cartwheel_template::{Throttle, ThrottleSpec};
use std::{collections::HashMap, sync::Mutex, time::Instant};

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Throttles {
    spec: ThrottleSpec,
    /// Multiplies every burst and rate; `None`: no throttling at all.
    scale: Option<f64>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// How the environment sets the offline throttles: unset, the template's; `off`; or a factor.
pub fn scale_from(setting: Option<&str>) -> Result<Option<f64>, String> {
    match setting.map(str::trim) {
        None | Some("") => Ok(Some(1.0)),
        Some("off") => Ok(None),
        // Only raised: a factor below 1 would make the offline gateway stricter than AWS (and
        // one that left a bucket under one token would refuse its route for good).
        Some(factor) => match factor.parse::<f64>() {
            Ok(f) if f >= 1.0 => Ok(Some(f)),
            _ => Err(format!(
                "CARTWHEEL_GATEWAY_THROTTLE is {factor:?}: expected `off` or a factor of at least 1"
            )),
        },
    }
}

impl Throttles {
    pub fn new(spec: ThrottleSpec, scale: Option<f64>) -> Self {
        Self {
            spec,
            scale,
            buckets: Mutex::default(),
        }
    }

    /// Takes a token from `route_key`'s bucket; false when it is empty.
    pub fn admit(&self, route_key: &str) -> bool {
        let (Some(scale), Some(Throttle { burst, rate })) = (self.scale, self.spec.of(route_key))
        else {
            return true;
        };
        let (burst, rate) = (burst as f64 * scale, rate * scale);
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(route_key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refilled).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttles(scale: Option<f64>) -> Throttles {
        let spec = ThrottleSpec {
            default: Some(Throttle {
                burst: 3,
                rate: 1.0,
            }),
            routes: HashMap::from([(
                "POST /users".into(),
                Throttle {
                    burst: 1,
                    rate: 1.0,
                },
            )]),
        };
        Throttles::new(spec, scale)
    }

    #[test]
    fn a_route_admits_its_burst_then_refuses_until_its_bucket_refills() {
        let throttles = throttles(Some(1.0));
        assert!(throttles.admit("POST /users"));
        assert!(!throttles.admit("POST /users"), "its own burst of 1");
        let others: Vec<bool> = (0..4).map(|_| throttles.admit("GET /products")).collect();
        assert_eq!(
            others,
            [true, true, true, false],
            "the default burst of 3, its own bucket"
        );
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(throttles.admit("POST /users"), "refilled at 1 a second");
    }

    #[test]
    fn the_setting_scales_or_lifts_the_throttles() {
        let scaled = throttles(Some(2.0));
        assert!(scaled.admit("POST /users") && scaled.admit("POST /users"));
        assert!(!scaled.admit("POST /users"));
        let off = throttles(None);
        assert!((0..100).all(|_| off.admit("POST /users")));
        assert_eq!(scale_from(None), Ok(Some(1.0)));
        assert_eq!(scale_from(Some("off")), Ok(None));
        assert_eq!(scale_from(Some("10")), Ok(Some(10.0)));
        assert!(scale_from(Some("lots")).is_err());
        assert!(
            scale_from(Some("0.05")).is_err(),
            "never below the template's"
        );
    }
}
