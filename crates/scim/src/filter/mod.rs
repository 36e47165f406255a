//! SCIM filters (RFC 7644 §3.4.2.2): a public AST, a parser, a canonical
//! printer and an evaluator.
//!
//! # The AST, for the storage layer
//!
//! [`Filter`] is what the SQL translator walks. Its semantics, which a
//! translation must reproduce to agree with [`matches`]:
//!
//! * `Compare { path, op, value }` — true when **any** value of the attribute
//!   (multi-valued attributes have several) satisfies `op value`. Strings
//!   compare case-insensitively unless the attribute is `caseExact`
//!   (`id`, `externalId`, `$ref`…); `gt/ge/lt/le` on strings are
//!   lexicographic, on `dateTime` chronological, on numbers numeric. A complex
//!   attribute compared without a sub-attribute (`emails co "@x"`) compares
//!   its `value` sub-attribute. An attribute with no value matches only
//!   `ne` (anything) and `eq null`. `value` is typed: Entra's unquoted
//!   `externalId eq 5b3f…` arrives as a string, `eq 42` as a number; against
//!   a string attribute, numbers and booleans compare by their JSON text.
//! * `Present(path)` — the attribute has a non-null, non-empty value.
//! * `And`, `Or`, `Not` — as usual. Precedence when parsing follows erratum
//!   4670: grouping, then attribute operators, then `not`, `and`, `or`.
//! * `ValuePath { path, filter }` — some element of the multi-valued complex
//!   attribute `path` satisfies `filter`, whose paths name sub-attributes of
//!   that element (`emails[type eq "work" and value co "@x"]`). Entra's
//!   `emails[type eq "work"].value eq "a@x"` parses into the equivalent
//!   `emails[type eq "work" and value eq "a@x"]`.
//!
//! [`AttrPath`] names keep the client's spelling; resolve them with
//! [`ResourceSchema::resolve`] (case-insensitive) before mapping to columns.
//!
//! `Display` prints a canonical form that parses back to the same AST.

mod eval;
mod lexer;
mod parser;

use std::fmt;

pub use eval::{is_present, matches, validate};
pub(crate) use eval::{matches_element, validate_element_filter};
pub(crate) use parser::parse_value_filter_at;

use crate::error::ScimError;
use crate::path::AttrPath;
use crate::schema::ResourceSchema;

/// Comparison operators (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal
    Ge,
    /// less than
    Lt,
    /// less than or equal
    Le,
}

impl CompareOp {
    /// The lower-case operator keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Whether this is one of the ordering operators `gt ge lt le`.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// A comparison value: the JSON literal the filter carried.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A JSON number, exactly as written.
    Number(serde_json::Number),
    /// A JSON string (or an unquoted word, as Entra sometimes sends).
    String(String),
}

impl CompValue {
    /// The value as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CompValue::Null => serde_json::Value::Null,
            CompValue::Bool(b) => serde_json::Value::Bool(*b),
            CompValue::Number(n) => serde_json::Value::Number(n.clone()),
            CompValue::String(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// A parsed filter. See the module documentation for its exact semantics.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared against.
        value: CompValue,
    },
    /// `path pr`
    Present(AttrPath),
    /// `left and right`
    And(Box<Filter>, Box<Filter>),
    /// `left or right`
    Or(Box<Filter>, Box<Filter>),
    /// `not (inner)`
    Not(Box<Filter>),
    /// `path[filter]`: some element of a multi-valued attribute matches `filter`,
    /// whose paths are sub-attribute names.
    ValuePath {
        /// The multi-valued (or complex) attribute; never has `sub_attr`.
        path: AttrPath,
        /// The element filter; never contains another `ValuePath`.
        filter: Box<Filter>,
    },
}

/// Limits applied while parsing, so hostile input costs bounded time and stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    /// Longest accepted filter, in bytes.
    pub max_len: usize,
    /// Deepest nesting of parentheses, `not` and `[...]`.
    pub max_depth: usize,
}

impl Default for FilterLimits {
    fn default() -> Self {
        Self {
            max_len: 4096,
            max_depth: 16,
        }
    }
}

impl Filter {
    /// Parses with the default [`FilterLimits`]. Errors are `invalidFilter`
    /// with the character position and the reason.
    pub fn parse(src: &str) -> Result<Self, ScimError> {
        Self::parse_with(src, FilterLimits::default())
    }

    /// Parses with explicit limits.
    pub fn parse_with(src: &str, limits: FilterLimits) -> Result<Self, ScimError> {
        if let Some(at) = src.find('\0') {
            return Err(ScimError::invalid_filter(format!(
                "the NUL character (U+0000) at position {at} cannot be compared with anything \
                 stored; remove it"
            )));
        }
        parser::parse(src, limits)
    }

    /// Parses and then checks every path and operator against `schema`
    /// (see [`validate`]).
    pub fn parse_for(src: &str, schema: &ResourceSchema) -> Result<Self, ScimError> {
        let f = Self::parse(src)?;
        validate(&f, schema)?;
        Ok(f)
    }

    /// Whether `resource` (a full resource object, `id` and `meta` included)
    /// satisfies this filter.
    pub fn matches(&self, resource: &crate::JsonObject, schema: &ResourceSchema) -> bool {
        matches(self, resource, schema)
    }

    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Binary operators parse left-associatively, so a right operand of
        // equal precedence needs parentheses to survive a round trip.
        fn side(f: &mut fmt::Formatter<'_>, child: &Filter, parens: bool) -> fmt::Result {
            if parens {
                write!(f, "({child})")
            } else {
                write!(f, "{child}")
            }
        }
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(l, r) => {
                side(f, l, l.precedence() < 2)?;
                f.write_str(" and ")?;
                side(f, r, r.precedence() <= 2)
            }
            Filter::Or(l, r) => {
                side(f, l, false)?;
                f.write_str(" or ")?;
                side(f, r, r.precedence() <= 1)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

#[cfg(test)]
mod tests;
