//! Query parameters of the API: page sizes, event types and opaque cursors
//! (base64url of `<kind>:<key>`, checked on the way in).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::outbox::EventType;
use crate::{Error, Result};

/// Events per page when the request names no limit, and the most it may name.
pub const EVENTS_DEFAULT_LIMIT: u64 = 100;
pub const EVENTS_MAX_LIMIT: u64 = 1000;
/// Users, groups or members per page when the request names no limit, and the most.
pub const DIRECTORY_DEFAULT_LIMIT: u64 = 50;
pub const DIRECTORY_MAX_LIMIT: u64 = 200;

/// What a cursor points into; a cursor of one list is refused by another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorKind {
    Events,
    Users,
    Groups,
    Members,
    /// The audit log (`crate::audit`).
    Audit,
    Locations,
}

impl CursorKind {
    fn tag(self) -> &'static str {
        match self {
            Self::Events => "e",
            Self::Users => "u",
            Self::Groups => "g",
            Self::Members => "m",
            Self::Audit => "a",
            Self::Locations => "l",
        }
    }
}

/// Encodes a position as an opaque cursor.
pub fn encode_cursor(kind: CursorKind, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{key}", kind.tag()))
}

fn decode_cursor(kind: CursorKind, raw: &str) -> Result<String> {
    let bad = || Error::invalid("cursor", "is not a cursor this endpoint returned");
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (tag, key) = text.split_once(':').ok_or_else(bad)?;
    if tag != kind.tag() {
        return Err(bad());
    }
    Ok(key.to_owned())
}

/// The events cursor: the `seq` of the last event seen (0 = before the first).
pub fn parse_events_cursor(raw: &str) -> Result<i64> {
    decode_cursor(CursorKind::Events, raw)?
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| Error::invalid("cursor", "is not a cursor this endpoint returned"))
}

/// The audit log's cursor: the id of the last entry seen (0 = before the first).
pub fn parse_audit_cursor(raw: &str) -> Result<i64> {
    decode_cursor(CursorKind::Audit, raw)?
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| Error::invalid("cursor", "is not a cursor this endpoint returned"))
}

/// A directory cursor: the id of the last row seen.
pub fn parse_id_cursor(kind: CursorKind, raw: &str) -> Result<Uuid> {
    Uuid::try_parse(&decode_cursor(kind, raw)?)
        .map_err(|_| Error::invalid("cursor", "is not a cursor this endpoint returned"))
}

/// A page size from the query string: absent is the default; empty or out of range is
/// refused (not clamped, so a client learns its mistake).
pub fn parse_limit(raw: Option<&str>, default: u64, max: u64) -> Result<u64> {
    match raw.map(str::trim) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Error::invalid("limit", format!("must be a number from 1 to {max}"))),
    }
}

/// A comma-separated list of event types, each spelled exactly (the `types` query
/// parameter, an array in docs/api/openapi.yaml); an unknown or empty item — an empty
/// list included — is refused, never skipped. Absent `types` means every type and never
/// reaches here.
pub fn parse_event_types(raw: &str) -> Result<Vec<EventType>> {
    let mut types = Vec::new();
    for name in raw.split(',') {
        let Some(t) = EventType::parse(name) else {
            return Err(Error::invalid(
                "types",
                format!(
                    "unknown event type {name:?}; list one or more of {}, separated by commas \
                     (or leave types out for every type)",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            ));
        };
        if !types.contains(&t) {
            types.push(t);
        }
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_lists_and_junk() {
        let cursor = encode_cursor(CursorKind::Events, "42");
        assert_eq!(parse_events_cursor(&cursor).unwrap(), 42);
        assert!(parse_events_cursor("42").is_err());
        assert!(parse_events_cursor("!!!").is_err());
        assert!(parse_events_cursor(&encode_cursor(CursorKind::Events, "-1")).is_err());
        let id = Uuid::now_v7();
        let users = encode_cursor(CursorKind::Users, &id.to_string());
        assert_eq!(parse_id_cursor(CursorKind::Users, &users).unwrap(), id);
        assert!(parse_id_cursor(CursorKind::Groups, &users).is_err());
        assert!(parse_events_cursor(&users).is_err());
    }

    #[test]
    fn limits_and_types_are_checked_not_clamped() {
        assert_eq!(parse_limit(None, 100, 1000).unwrap(), 100);
        assert_eq!(parse_limit(Some("1000"), 100, 1000).unwrap(), 1000);
        for bad in ["0", "1001", "-1", "ten", "1.5"] {
            assert!(parse_limit(Some(bad), 100, 1000).is_err(), "{bad}");
        }
        assert_eq!(
            parse_event_types("user.created,group.updated,user.created").unwrap(),
            vec![EventType::UserCreated, EventType::GroupUpdated]
        );
        for bad in [
            "user.exploded",
            "",
            "user.created,",
            "user.created, group.updated",
        ] {
            assert!(parse_event_types(bad).is_err(), "{bad:?}");
        }
    }
}
