//! Attribute paths: `name`, `name.sub` and `urn:…:Schema:name.sub`
//! (RFC 7644 §3.10 "attribute notation", §3.4.2.2 `attrPath`).
//!
//! The same scanner serves filters, PATCH paths, `attributes`,
//! `excludedAttributes` and `sortBy`, so every surface agrees on what a path is.

use std::fmt;

use crate::error::ScimError;

/// An attribute reference: optional schema URN, attribute name, optional sub-attribute.
///
/// Names keep the client's spelling; resolution against a schema is
/// case-insensitive (see [`ResourceSchema::resolve`](crate::schema::ResourceSchema::resolve)).
/// A bare extension URN such as `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
/// scans as `urn = "urn:…:2.0"`, `name = "User"`; resolution recognises it as
/// the whole extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix, without the trailing `:`.
    pub urn: Option<String>,
    /// Attribute name.
    pub name: String,
    /// Sub-attribute name.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a core attribute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            urn: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// Builder: set the sub-attribute.
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub_attr = Some(sub.into());
        self
    }

    /// Builder: set the schema URN.
    pub fn with_urn(mut self, urn: impl Into<String>) -> Self {
        self.urn = Some(urn.into());
        self
    }

    /// Parses a complete path string; anything left over is an `invalidPath` error.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        let trimmed = s.trim();
        match scan_attr_path(trimmed, 0) {
            Ok((path, end)) if end == trimmed.len() => Ok(path),
            Ok((_, end)) => Err(ScimError::invalid_path(format!(
                "invalid attribute path {s:?}: unexpected character at position {}",
                char_pos(trimmed, end)
            ))),
            Err((pos, why)) => Err(ScimError::invalid_path(format!(
                "invalid attribute path {s:?} at position {}: {why}",
                char_pos(trimmed, pos)
            ))),
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Character (not byte) index of byte offset `byte` in `s`, for error messages.
pub(crate) fn char_pos(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(byte, |p| p.chars().count())
}

pub(crate) fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'$'
}

pub(crate) fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$'
}

/// Bytes that end a URN token: whitespace and the filter/path punctuation.
fn ends_urn(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'[' | b']' | b'(' | b')' | b'"' | b',')
}

/// Scans `ATTRNAME` at `start`; returns the end offset.
fn scan_name(s: &str, start: usize) -> Result<usize, (usize, String)> {
    let bytes = s.as_bytes();
    match bytes.get(start) {
        Some(&b) if is_name_start(b) => {}
        Some(_) => return Err((start, "expected an attribute name".into())),
        None => return Err((start, "expected an attribute name, found the end".into())),
    }
    let mut end = start + 1;
    while bytes.get(end).is_some_and(|&b| is_name_char(b)) {
        end += 1;
    }
    Ok(end)
}

/// Scans `name` or `name.sub` in `s[start..end]` exactly.
fn split_name_sub(
    s: &str,
    start: usize,
    end: usize,
) -> Result<(String, Option<String>), (usize, String)> {
    let name_end = scan_name(s, start)?;
    let name = s[start..name_end].to_owned();
    if name_end == end {
        return Ok((name, None));
    }
    if s.as_bytes().get(name_end) != Some(&b'.') {
        return Err((name_end, "unexpected character in attribute name".into()));
    }
    let sub_end = scan_name(s, name_end + 1)?;
    if sub_end != end {
        return Err((sub_end, "unexpected character after sub-attribute".into()));
    }
    Ok((name, Some(s[name_end + 1..sub_end].to_owned())))
}

/// Scans an `attrPath` starting at byte `start` of `s`. Returns the path and
/// the byte offset just past it, or the byte offset and reason of the error.
///
/// A `.sub` directly after the name is consumed; callers that allow
/// `attr[filter].sub` handle the part after `]` themselves.
pub(crate) fn scan_attr_path(s: &str, start: usize) -> Result<(AttrPath, usize), (usize, String)> {
    let bytes = s.as_bytes();
    let rest = &bytes[start.min(bytes.len())..];
    if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case(b"urn:") {
        let mut end = start;
        while bytes.get(end).is_some_and(|&b| !ends_urn(b)) {
            end += 1;
        }
        // Schema URNs contain dots ("2.0") but never after their last colon,
        // so the attribute part is whatever follows the last ':'.
        let token = &s[start..end];
        let colon = token.rfind(':').map_or(start, |c| start + c);
        if colon + 1 >= end {
            return Err((
                end,
                "expected an attribute name after the schema URN".into(),
            ));
        }
        let (name, sub_attr) = split_name_sub(s, colon + 1, end)?;
        return Ok((
            AttrPath {
                urn: Some(s[start..colon].to_owned()),
                name,
                sub_attr,
            },
            end,
        ));
    }
    let name_end = scan_name(s, start)?;
    let name = s[start..name_end].to_owned();
    if bytes.get(name_end) == Some(&b'.') {
        let sub_end = scan_name(s, name_end + 1)?;
        return Ok((
            AttrPath {
                urn: None,
                name,
                sub_attr: Some(s[name_end + 1..sub_end].to_owned()),
            },
            sub_end,
        ));
    }
    Ok((
        AttrPath {
            urn: None,
            name,
            sub_attr: None,
        },
        name_end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_sub_and_urn_paths() {
        assert_eq!(
            AttrPath::parse("userName").unwrap(),
            AttrPath::new("userName")
        );
        assert_eq!(
            AttrPath::parse("name.givenName").unwrap(),
            AttrPath::new("name").with_sub("givenName")
        );
        assert_eq!(
            AttrPath::parse("members.$ref").unwrap(),
            AttrPath::new("members").with_sub("$ref")
        );
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.name, "manager");
        assert_eq!(p.sub_attr.as_deref(), Some("value"));
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
    }

    #[test]
    fn bare_extension_urn_scans_as_urn_and_last_segment() {
        let p =
            AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
        );
        assert_eq!(p.name, "User");
    }

    #[test]
    fn rejects_malformed_paths_with_position() {
        for bad in [
            "",
            "1abc",
            "name.",
            "name.given.x",
            "urn:x:",
            "na me",
            "name..x",
        ] {
            let e = AttrPath::parse(bad).unwrap_err();
            assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidPath), "{bad}");
            assert!(e.detail().contains("position"), "{bad}: {}", e.detail());
        }
    }
}
