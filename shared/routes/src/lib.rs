//! HTTP API routing, as API Gateway does it: exact method before `ANY`, literal segments before
//! parameters, and the `$default` route for the rest. It holds no template parser, so the Lambda
//! that answers `$default` carries it with only the route list it was built with.

/// An `HttpApi` event. `method` and `path` are `None` for the `$default` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecl {
    pub method: Option<String>,
    pub path: Option<String>,
    pub authorizer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// `{name+}`: the rest of the path.
    Greedy(String),
}

#[derive(Debug, Clone)]
struct Route {
    method: String,
    path: String,
    segments: Vec<Segment>,
    function: String,
    authorizer: Option<String>,
}

/// What API Gateway does with a request's method and path.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch<'a> {
    Route {
        /// As API Gateway writes it: `GET /products/{productId}`.
        route_key: String,
        function: &'a str,
        authorizer: Option<&'a str>,
        path_parameters: Vec<(String, String)>,
    },
    /// No route matches; the `$default` route's function answers. `allowed` lists the methods that
    /// the path does have, so that it can tell 405 from 404.
    Default {
        function: Option<&'a str>,
        allowed: Vec<String>,
    },
}

/// HTTP API routing: exact method before `ANY`, and literal segments before parameters.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    default_function: Option<String>,
}

fn segments(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) => Segment::Greedy(greedy.to_owned()),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal(s.to_owned()),
            },
        )
        .collect()
}

type Params = Vec<(String, String)>;

/// A path that fits a route: its parameters, and a specificity rank per segment (2 literal,
/// 1 parameter, 0 greedy) that orders competing matches as API Gateway does.
struct PathMatch<'a> {
    route: &'a Route,
    params: Params,
    rank: Vec<u8>,
}

/// The segments of a request's path, split once for every route it is matched against (the
/// gateway resolves a route per request).
fn parts(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

/// Whether `parts` fit `pattern`, checked before anything is built: most routes fail on their
/// first literal.
fn fits(pattern: &[Segment], parts: &[&str]) -> bool {
    for (i, segment) in pattern.iter().enumerate() {
        let fits = match segment {
            Segment::Greedy(_) => return parts.len() > i,
            Segment::Literal(literal) => parts.get(i) == Some(&literal.as_str()),
            Segment::Param(_) => parts.get(i).is_some_and(|v| !v.is_empty()),
        };
        if !fits {
            return false;
        }
    }
    parts.len() == pattern.len()
}

fn match_path(pattern: &[Segment], parts: &[&str]) -> Option<(Params, Vec<u8>)> {
    if !fits(pattern, parts) {
        return None;
    }
    let mut params = Vec::new();
    let mut rank = Vec::new();
    for (i, segment) in pattern.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = parts.get(i..).filter(|r| !r.is_empty())?.join("/");
                params.push((name.clone(), rest));
                rank.push(0);
                return Some((params, rank));
            }
            Segment::Literal(literal) => {
                (parts.get(i)? == literal).then_some(())?;
                rank.push(2);
            }
            Segment::Param(name) => {
                let value = parts.get(i).filter(|v| !v.is_empty())?;
                params.push((name.clone(), (*value).to_owned()));
                rank.push(1);
            }
        }
    }
    (parts.len() == pattern.len()).then_some((params, rank))
}

impl RouteTable {
    /// Routes as (function, declaration) pairs.
    pub fn new<'a>(routes: impl IntoIterator<Item = (&'a str, &'a RouteDecl)>) -> Self {
        let mut table = Self::default();
        for (function, route) in routes {
            match (&route.method, &route.path) {
                (Some(method), Some(path)) => table.routes.push(Route {
                    method: method.clone(),
                    path: path.clone(),
                    segments: segments(path),
                    function: function.to_owned(),
                    authorizer: route.authorizer.clone(),
                }),
                _ => table.default_function = Some(function.to_owned()),
            }
        }
        table
    }

    pub fn route_keys(&self) -> impl Iterator<Item = String> + '_ {
        self.routes
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
    }

    pub fn resolve(&self, method: &str, path: &str) -> RouteMatch<'_> {
        let parts = parts(path);
        let candidates: Vec<PathMatch<'_>> = self
            .routes
            .iter()
            .filter_map(|route| {
                let (params, rank) = match_path(&route.segments, &parts)?;
                Some(PathMatch {
                    route,
                    params,
                    rank,
                })
            })
            .collect();
        let exact = |m: &PathMatch<'_>| m.route.method != "ANY";
        let best = candidates
            .iter()
            .filter(|m| m.route.method == method || m.route.method == "ANY")
            .max_by(|a, b| a.rank.cmp(&b.rank).then(exact(a).cmp(&exact(b))));
        match best {
            Some(PathMatch { route, params, .. }) => RouteMatch::Route {
                route_key: format!("{} {}", route.method, route.path),
                function: &route.function,
                authorizer: route.authorizer.as_deref(),
                path_parameters: params.clone(),
            },
            None => {
                let mut allowed: Vec<String> =
                    candidates.iter().map(|m| m.route.method.clone()).collect();
                allowed.sort();
                allowed.dedup();
                RouteMatch::Default {
                    function: self.default_function.as_deref(),
                    allowed,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> RouteDecl {
        RouteDecl {
            method: Some(method.into()),
            path: Some(path.into()),
            authorizer: None,
        }
    }

    fn table() -> RouteTable {
        let routes = [
            ("Get", route("GET", "/products/{productId}")),
            ("Stock", route("PUT", "/products/{productId}/stock")),
            ("Me", route("GET", "/users/me")),
            ("User", route("GET", "/users/{userId}")),
            ("Files", route("ANY", "/files/{path+}")),
            (
                "Default",
                RouteDecl {
                    method: None,
                    path: None,
                    authorizer: None,
                },
            ),
        ];
        RouteTable::new(routes.iter().map(|(f, r)| (*f, r)))
    }

    fn function_of(m: RouteMatch<'_>) -> String {
        match m {
            RouteMatch::Route { function, .. } => function.to_owned(),
            RouteMatch::Default { allowed, .. } => format!("default {allowed:?}"),
        }
    }

    #[test]
    fn path_parameters_are_extracted() {
        let RouteMatch::Route {
            path_parameters,
            route_key,
            ..
        } = table().resolve("PUT", "/products/42/stock")
        else {
            panic!("no match")
        };
        assert_eq!(path_parameters, vec![("productId".into(), "42".into())]);
        assert_eq!(route_key, "PUT /products/{productId}/stock");
    }

    #[test]
    fn literal_beats_parameter_and_greedy_takes_the_rest() {
        let t = table();
        assert_eq!(function_of(t.resolve("GET", "/users/me")), "Me");
        assert_eq!(function_of(t.resolve("GET", "/users/7")), "User");
        let RouteMatch::Route {
            path_parameters, ..
        } = t.resolve("DELETE", "/files/a/b")
        else {
            panic!()
        };
        assert_eq!(path_parameters, vec![("path".into(), "a/b".into())]);
    }

    #[test]
    fn unmatched_requests_go_to_default_with_the_allowed_methods() {
        let t = table();
        assert_eq!(
            function_of(t.resolve("POST", "/products/42")),
            "default [\"GET\"]"
        );
        assert_eq!(function_of(t.resolve("GET", "/nope")), "default []");
        assert_eq!(function_of(t.resolve("GET", "/products/")), "default []");
        assert_eq!(function_of(t.resolve("GET", "/products/42/")), "default []");
    }
}
