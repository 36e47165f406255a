//! Values whose format a standard defines: an IANA time zone (a location's, a user's
//! `timezone`), checked against the IANA database itself (`chrono-tz`'s copy of it), not
//! by its shape — `Mars/Olympus` has the shape of a time zone; and a BCP 47 language tag
//! (a user's `locale`), checked against the IANA language subtag registry
//! (`language-tags`), so `xx-YY` is refused although it is well-formed.
//!
//! A user's `timezone` and `locale` that are not such values are *withheld*: SCIM
//! stores them as the identity provider sent them (RFC 7643 says what they should be,
//! and SCIM clients test with random strings), but the product never gets them — the
//! directory API and the webhooks show `null`, and the write's log row warns.

use roster_scim::JsonObject;
use serde_json::Value;

/// An IANA time zone name, in the database's own case (`Europe/Paris`), or `None`.
pub fn iana_time_zone(raw: &str) -> Option<&'static str> {
    raw.trim()
        .parse::<chrono_tz::Tz>()
        .ok()
        .or_else(|| chrono_tz::Tz::from_str_insensitive(raw.trim()).ok())
        .map(|tz| tz.name())
}

/// A BCP 47 language tag that is well-formed and valid against the IANA registry.
pub fn is_bcp47_locale(raw: &str) -> bool {
    language_tags::LanguageTag::parse(raw).is_ok_and(|tag| tag.is_valid())
}

/// The user attributes whose value the product gets only when a standard defines it.
const CHECKED: [(&str, &str); 2] = [
    ("timezone", "an IANA time zone (e.g. Europe/Paris)"),
    ("locale", "a BCP 47 language tag (e.g. fr-CA)"),
];

fn acceptable(attribute: &str, value: &str) -> bool {
    match attribute {
        "timezone" => iana_time_zone(value).is_some(),
        _ => is_bcp47_locale(value),
    }
}

/// The top-level attributes of a stored user document (`timezone`, `locale`) whose
/// values the product does not get, with the value and what it should have been.
pub fn withheld(doc: &JsonObject) -> Vec<(&'static str, String, &'static str)> {
    CHECKED
        .iter()
        .filter_map(|(attribute, expected)| {
            let value = doc.get(*attribute)?;
            let ok = value.as_str().is_some_and(|v| acceptable(attribute, v));
            (!ok && !value.is_null()).then(|| {
                let shown = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                (*attribute, shown, *expected)
            })
        })
        .collect()
}

/// The warning of a write that stores withheld values, naming each field.
pub fn withheld_warning(doc: &JsonObject) -> Option<String> {
    let parts: Vec<String> = withheld(doc)
        .into_iter()
        .map(|(attribute, value, expected)| {
            let value: String = value.chars().take(100).collect();
            format!("{attribute} \"{value}\" is not {expected}")
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "{}: stored as sent, but not passed to the product (null in the directory API and webhooks)",
            parts.join("; ")
        )
    })
}

/// A user's SCIM document as the product sees it: withheld values are `null`.
pub fn for_product(doc: &mut Value) {
    let Some(object) = doc.as_object_mut() else {
        return;
    };
    let names: Vec<&'static str> = withheld(object).into_iter().map(|(a, _, _)| a).collect();
    for name in names {
        object.insert(name.to_owned(), Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_come_from_the_language_subtag_registry() {
        assert!(is_bcp47_locale("fr-CA"));
        assert!(is_bcp47_locale("en"));
        assert!(is_bcp47_locale("zh-Hant-TW"));
        assert!(!is_bcp47_locale("xx_NOT-A-LOCALE"));
        assert!(!is_bcp47_locale("en_US"));
        assert!(!is_bcp47_locale("qqqq-ZZ-1"));
        assert!(!is_bcp47_locale(""));
    }

    #[test]
    fn invalid_values_are_withheld_and_named() {
        let doc: JsonObject = serde_json::from_value(serde_json::json!({
            "userName": "a", "timezone": "Mars/Olympus", "locale": "fr-CA"
        }))
        .unwrap();
        let warning = withheld_warning(&doc).unwrap();
        assert!(warning.starts_with("timezone \"Mars/Olympus\" is not an IANA time zone"));
        assert!(!warning.contains("locale"));
        let mut value = Value::Object(doc);
        for_product(&mut value);
        assert_eq!(value["timezone"], Value::Null);
        assert_eq!(value["locale"], "fr-CA");
        let fine: JsonObject =
            serde_json::from_value(serde_json::json!({"timezone": "Europe/Paris"})).unwrap();
        assert_eq!(withheld_warning(&fine), None);
    }

    #[test]
    fn time_zones_come_from_the_iana_database() {
        assert_eq!(iana_time_zone("Europe/Paris"), Some("Europe/Paris"));
        assert_eq!(iana_time_zone("europe/paris"), Some("Europe/Paris"));
        assert_eq!(iana_time_zone("UTC"), Some("UTC"));
        assert_eq!(
            iana_time_zone("America/Argentina/Buenos_Aires"),
            Some("America/Argentina/Buenos_Aires")
        );
        assert_eq!(iana_time_zone("Mars/Olympus"), None);
        assert_eq!(iana_time_zone("Europe/Pariss"), None);
        assert_eq!(iana_time_zone(""), None);
    }
}
