//! Writes the HTTP API's routes (method, path) from template.yaml into the build, so the `$default`
//! function tells 405 from 404 without carrying the template or a YAML parser.

use std::{env, fmt::Write, fs, path::PathBuf};

fn main() {
    let template_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    println!("cargo:rerun-if-changed={}", template_path.display());
    let text = fs::read_to_string(&template_path).expect("template.yaml is readable");
    let template = cartwheel_template::Template::parse(&text).expect("template.yaml parses");
    let functions = template
        .functions()
        .expect("template.yaml's functions are readable");
    let mut out = String::from("/// Every `method path` route of template.yaml's HTTP API.\npub const ROUTES: &[(&str, &str)] = &[\n");
    for route in functions.iter().flat_map(|f| &f.routes) {
        if let (Some(method), Some(path)) = (&route.method, &route.path) {
            writeln!(out, "    ({method:?}, {path:?}),").expect("writing to a String");
        }
    }
    out.push_str("];\n");
    let target = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("routes.rs");
    fs::write(target, out).expect("OUT_DIR is writable");
}
