//! template.yaml for a test's stack: as it is, or with edits applied.

use cartwheel_template::Template;

pub fn template() -> Template {
    Template::parse(cartwheel_template::EMBEDDED).expect("template.yaml parses")
}

/// template.yaml with `edits` applied; an edit that changes nothing is a broken test.
pub fn edited_template(edits: &[(String, String)]) -> Template {
    let mut text = cartwheel_template::EMBEDDED.to_owned();
    for (from, to) in edits {
        assert!(
            text.contains(from.as_str()),
            "template.yaml has no {from:?} to edit"
        );
        text = text.replacen(from.as_str(), to, 1);
    }
    Template::parse(&text).expect("the edited template parses")
}
