//! Any string: the parser never panics, and whatever it accepts prints to a
//! canonical form that parses back to the same AST; evaluation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::schema::SchemaRegistry;
use roster_scim::{Filter, FilterLimits};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = Filter::parse(src) else {
        return;
    };
    let printed = filter.to_string();
    let wide = FilterLimits {
        max_len: usize::MAX,
        max_depth: 64,
    };
    match Filter::parse_with(&printed, wide) {
        Ok(again) => assert_eq!(again, filter, "round trip of {src:?} via {printed:?}"),
        Err(e) => panic!("canonical form {printed:?} of {src:?} does not parse: {e}"),
    }
    let registry = SchemaRegistry::standard();
    let doc = serde_json::json!({
        "id": "1", "userName": "bjensen", "active": true,
        "name": {"givenName": "B"}, "emails": [{"value": "a@x.com", "type": "work"}],
        "meta": {"created": "2020-01-01T00:00:00Z"}
    });
    if let Some(obj) = doc.as_object() {
        let _ = filter.matches(obj, registry.user());
        let _ = roster_scim::filter::validate(&filter, registry.user());
    }
});
