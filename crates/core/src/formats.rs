//! Values whose format a standard defines: an IANA time zone (a location's), checked
//! against the IANA database itself (`chrono-tz`'s copy of it), not by its shape —
//! `Mars/Olympus` has the shape of a time zone.

/// An IANA time zone name, in the database's own case (`Europe/Paris`), or `None`.
pub fn iana_time_zone(raw: &str) -> Option<&'static str> {
    raw.trim()
        .parse::<chrono_tz::Tz>()
        .ok()
        .or_else(|| chrono_tz::Tz::from_str_insensitive(raw.trim()).ok())
        .map(|tz| tz.name())
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
}
