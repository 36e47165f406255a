//! On-demand tokenizer for filters: the parser asks for the token it expects
//! next, which keeps keywords contextual (an attribute may be called `and`)
//! and avoids building a token vector.

use super::CompValue;
use crate::path::{AttrPath, char_pos, scan_attr_path};

/// A lexing or parsing failure: byte offset and reason.
pub(crate) type LexError = (usize, String);

pub(crate) struct Cursor<'a> {
    pub(crate) src: &'a str,
    pub(crate) pos: usize,
}

/// Bytes after which a bare word or literal ends.
fn is_boundary(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b')' || b == b']'
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str, pos: usize) -> Self {
        Self { src, pos }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// Skips whitespace; returns whether any was skipped.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        self.pos > start
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `kw` (case-insensitive) when it is followed by whitespace or
    /// one of `extra_ends`; otherwise leaves the cursor alone.
    pub(crate) fn eat_keyword(&mut self, kw: &str, extra_ends: &[u8]) -> bool {
        let end = self.pos + kw.len();
        let Some(word) = self.bytes().get(self.pos..end) else {
            return false;
        };
        if !word.eq_ignore_ascii_case(kw.as_bytes()) {
            return false;
        }
        let follows_ok = match self.bytes().get(end) {
            None => false,
            Some(b) => b.is_ascii_whitespace() || extra_ends.contains(b),
        };
        if follows_ok {
            self.pos = end;
        }
        follows_ok
    }

    /// The run of ASCII letters at the cursor (an operator keyword), consumed.
    pub(crate) fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    pub(crate) fn attr_path(&mut self) -> Result<AttrPath, LexError> {
        let (path, end) = scan_attr_path(self.src, self.pos)?;
        self.pos = end;
        Ok(path)
    }

    /// A comparison value: a JSON string, `true`/`false`/`null`, a JSON
    /// number, or — for Entra — an unquoted word taken as a string.
    pub(crate) fn comp_value(&mut self) -> Result<CompValue, LexError> {
        let start = self.pos;
        match self.peek() {
            None => return Err((start, "expected a comparison value, found the end".into())),
            Some(b'"') => return self.json_string(),
            Some(b'(' | b')' | b'[' | b']') => {
                return Err((start, "expected a comparison value".into()));
            }
            Some(_) => {}
        }
        // The token runs to the next boundary; decide what it is by its text.
        let mut end = start;
        while self.bytes().get(end).is_some_and(|&b| !is_boundary(b)) {
            end += 1;
        }
        let token = &self.src[start..end];
        self.pos = end;
        if token.eq_ignore_ascii_case("true") {
            return Ok(CompValue::Bool(true));
        }
        if token.eq_ignore_ascii_case("false") {
            return Ok(CompValue::Bool(false));
        }
        if token.eq_ignore_ascii_case("null") {
            return Ok(CompValue::Null);
        }
        if looks_numeric(token)
            && let Some(n) = parse_number(token)
        {
            return Ok(CompValue::Number(n));
        }
        if token.contains('"') {
            return Err((start, "unexpected '\"' inside an unquoted value".into()));
        }
        Ok(CompValue::String(token.to_owned()))
    }

    fn json_string(&mut self) -> Result<CompValue, LexError> {
        let start = self.pos;
        let bytes = self.bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err((start, "unterminated string".into())),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let raw = &self.src[start..=i];
        let s: String = serde_json::from_str(raw)
            .map_err(|e| (start, format!("invalid string literal: {e}")))?;
        self.pos = i + 1;
        Ok(CompValue::String(s))
    }

    /// The character position of byte `byte`, for messages.
    pub(crate) fn char_pos(&self, byte: usize) -> usize {
        char_pos(self.src, byte)
    }
}

/// Integers stay integers; everything else goes through std's correctly
/// rounded `f64` parser, so printing (shortest round-trip form) and parsing
/// again yields the same number. Out-of-range values are not numbers.
fn parse_number(t: &str) -> Option<serde_json::Number> {
    if let Ok(i) = t.parse::<i64>() {
        return Some(i.into());
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(u.into());
    }
    t.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
}

/// JSON number grammar, checked before handing the token to serde_json so
/// words like `1e` or `0x1` stay strings.
fn looks_numeric(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > s
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(s: &str) -> CompValue {
        Cursor::new(s, 0).comp_value().unwrap()
    }

    #[test]
    fn values() {
        assert_eq!(value("\"a\\\"b\""), CompValue::String("a\"b".into()));
        assert_eq!(value("TRUE"), CompValue::Bool(true));
        assert_eq!(value("null"), CompValue::Null);
        assert_eq!(
            value("-1.5e3"),
            CompValue::Number("-1.5e3".parse().unwrap())
        );
        assert_eq!(value("5b3f-11"), CompValue::String("5b3f-11".into()));
        assert_eq!(
            value("someone@x.com)"),
            CompValue::String("someone@x.com".into())
        );
        assert_eq!(value("1e"), CompValue::String("1e".into()));
        assert!(Cursor::new("\"abc", 0).comp_value().is_err());
        assert!(Cursor::new("", 0).comp_value().is_err());
        assert!(Cursor::new("ab\"c", 0).comp_value().is_err());
    }

    #[test]
    fn keywords_need_a_boundary() {
        let mut c = Cursor::new("andrew", 0);
        assert!(!c.eat_keyword("and", &[]));
        let mut c = Cursor::new("AND x", 0);
        assert!(c.eat_keyword("and", &[]));
        let mut c = Cursor::new("not(", 0);
        assert!(c.eat_keyword("not", b"("));
    }
}
