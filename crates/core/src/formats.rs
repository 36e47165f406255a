//! Values whose format a standard defines and the product behind Roster relies on: a
//! user's `timezone` (an IANA time zone, RFC 7643 §4.1.1) and `locale` (a BCP 47 language
//! tag, RFC 5646). Each is checked against its registry by a maintained crate
//! (`chrono-tz`'s copy of the IANA database, `language-tags`' copy of the IANA language
//! subtag registry), not by its shape: `Mars/Olympus` has the shape of a time zone.

use roster_scim::value::get_ci;
use roster_scim::{JsonObject, ScimError};
use serde_json::Value;

/// An IANA time zone name, in the database's own case (`Europe/Paris`), or `None`.
pub fn iana_time_zone(raw: &str) -> Option<&'static str> {
    raw.trim()
        .parse::<chrono_tz::Tz>()
        .ok()
        .or_else(|| chrono_tz::Tz::from_str_insensitive(raw.trim()).ok())
        .map(|tz| tz.name())
}

/// Whether `raw` is a valid BCP 47 language tag (`en-US`, `de`, `zh-Hant-TW`). The
/// underscore some identity providers write (`en_US`, Okta's profile format) is read as
/// the hyphen it stands for.
pub fn is_language_tag(raw: &str) -> bool {
    let tag = raw.trim().replace('_', "-");
    language_tags::LanguageTag::parse(&tag).is_ok_and(|tag| tag.is_valid())
}

/// Refuses a user whose `timezone` or `locale` is not what its standard allows. On an
/// update, only a value that changed is checked: a user stored before these checks is
/// not locked out of unrelated updates.
pub(crate) fn check_user_formats(
    doc: &JsonObject,
    old: Option<&JsonObject>,
    idp: &str,
) -> Result<(), ScimError> {
    let changed = |name: &str| -> Option<&str> {
        let new = get_ci(doc, name).and_then(Value::as_str)?;
        let before = old
            .and_then(|old| get_ci(old, name))
            .and_then(Value::as_str);
        (before != Some(new) && !new.trim().is_empty()).then_some(new)
    };
    if let Some(tz) = changed("timezone")
        && iana_time_zone(tz).is_none()
    {
        return Err(ScimError::invalid_value(format!(
            "timezone \"{tz}\" is not a time zone of the IANA database (such as Europe/Paris \
             or America/New_York); correct the user's time zone in {idp}"
        )));
    }
    if let Some(locale) = changed("locale")
        && !is_language_tag(locale)
    {
        return Err(ScimError::invalid_value(format!(
            "locale \"{locale}\" is not a BCP 47 language tag (such as en-US or de-CH); \
             correct the user's locale in {idp}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn locales_are_registered_language_tags() {
        for ok in ["en-US", "en", "de-CH", "zh-Hant-TW", "en_US", "fr-FR"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["xx-YY-ZZZZZZZZZ", "english", "en-USA-", "", "12"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
