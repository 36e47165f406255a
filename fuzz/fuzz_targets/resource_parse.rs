//! Any JSON body: User and Group parsing never panic, and an accepted User
//! re-parses to the same document (normalisation is idempotent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::resource::{parse_group, parse_user};
use roster_scim::schema::SchemaRegistry;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let registry = SchemaRegistry::standard();
    if let Ok(p) = parse_user(registry.user(), &body) {
        let again = parse_user(registry.user(), &Value::Object(p.document.clone()));
        assert_eq!(again.map(|a| a.document).ok(), Some(p.document));
    }
    let _ = parse_group(registry.group(), &body);
});
