//! Recursive-descent parser for the RFC 7644 §3.4.2.2 grammar, with the
//! erratum 4670 precedence (`not` > `and` > `or`), errata 4690/7322 for value
//! filters, and Entra's unquoted values and `attr[filter].sub op value` form.
//!
//! ```text
//! filter    = or
//! or        = and *( SP "or" SP and )
//! and       = unary *( SP "and" SP unary )
//! unary     = "not" [SP] "(" filter ")" / "(" filter ")" / attrExp
//! attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
//!           / attrPath "[" valFilter "]" [ "." subAttr ( SP "pr" / SP compareOp SP compValue ) ]
//! ```

use super::lexer::{Cursor, LexError};
use super::{CompareOp, Filter, FilterLimits};
use crate::error::ScimError;
use crate::path::AttrPath;

struct Parser<'a> {
    cur: Cursor<'a>,
    limits: FilterLimits,
    depth: usize,
    /// Inside `[...]`: paths are sub-attribute names and may not nest.
    in_value_filter: bool,
}

type PResult<T> = Result<T, LexError>;

fn to_error(cur: &Cursor<'_>, (pos, why): LexError) -> ScimError {
    ScimError::invalid_filter(format!(
        "invalid filter at position {}: {why}",
        cur.char_pos(pos)
    ))
}

pub(super) fn parse(src: &str, limits: FilterLimits) -> Result<Filter, ScimError> {
    if src.len() > limits.max_len {
        return Err(ScimError::invalid_filter(format!(
            "invalid filter at position {}: the filter is {} bytes long; the limit is {}",
            crate::path::char_pos(src, src.floor_char_boundary(limits.max_len)),
            src.len(),
            limits.max_len
        )));
    }
    let mut p = Parser {
        cur: Cursor::new(src, 0),
        limits,
        depth: 0,
        in_value_filter: false,
    };
    let result = p.whole();
    result.map_err(|e| to_error(&p.cur, e))
}

/// Parses `[valFilter]` starting at the `[` at byte `pos` of `src`; returns
/// the filter and the offset just past `]`. Used by PATCH paths.
pub(crate) fn parse_value_filter_at(
    src: &str,
    pos: usize,
    limits: FilterLimits,
) -> Result<(Filter, usize), (usize, String)> {
    let mut p = Parser {
        cur: Cursor::new(src, pos),
        limits,
        depth: 0,
        in_value_filter: true,
    };
    if !p.cur.eat(b'[') {
        return Err((pos, "expected '['".into()));
    }
    let f = p.bracketed_body()?;
    Ok((f, p.cur.pos))
}

impl<'a> Parser<'a> {
    fn whole(&mut self) -> PResult<Filter> {
        self.cur.skip_ws();
        if self.cur.at_end() {
            return Err((0, "the filter is empty".into()));
        }
        let f = self.or()?;
        self.cur.skip_ws();
        match self.cur.peek() {
            None => Ok(f),
            Some(b')') => Err((self.cur.pos, "unbalanced ')'".into())),
            Some(b']') => Err((self.cur.pos, "unbalanced ']'".into())),
            Some(_) => Err((
                self.cur.pos,
                "expected 'and', 'or' or the end of the filter".into(),
            )),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err((
                self.cur.pos,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        Ok(())
    }

    /// Consumes ` or`/` and` when present: whitespace, the keyword, and a
    /// following whitespace or '('.
    fn logical(&mut self, kw: &str) -> bool {
        let save = self.cur.pos;
        if self.cur.skip_ws() && self.cur.eat_keyword(kw, b"(") {
            return true;
        }
        self.cur.pos = save;
        false
    }

    fn or(&mut self) -> PResult<Filter> {
        let mut left = self.and()?;
        while self.logical("or") {
            self.cur.skip_ws();
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> PResult<Filter> {
        let mut left = self.unary()?;
        while self.logical("and") {
            self.cur.skip_ws();
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Filter> {
        let start = self.cur.pos;
        if self.cur.eat_keyword("not", b"(") {
            self.cur.skip_ws();
            if self.cur.peek() != Some(b'(') {
                return Err((self.cur.pos, "expected '(' after 'not'".into()));
            }
            let inner = self.group()?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.cur.pos = start;
        if self.cur.peek() == Some(b'(') {
            return self.group();
        }
        self.attr_exp()
    }

    /// `( filter )` at the cursor.
    fn group(&mut self) -> PResult<Filter> {
        let open = self.cur.pos;
        self.enter()?;
        self.cur.eat(b'(');
        self.cur.skip_ws();
        let f = self.or()?;
        self.cur.skip_ws();
        if !self.cur.eat(b')') {
            return Err(match self.cur.peek() {
                None => (open, "'(' is never closed".into()),
                Some(_) => (self.cur.pos, "expected ')'".into()),
            });
        }
        self.depth -= 1;
        Ok(f)
    }

    fn attr_exp(&mut self) -> PResult<Filter> {
        let path_start = self.cur.pos;
        let path = self.cur.attr_path()?;
        if self.in_value_filter && (path.urn.is_some() || path.sub_attr.is_some()) {
            return Err((
                path_start,
                "inside '[...]' name a sub-attribute only (no '.' or schema URN)".into(),
            ));
        }
        if self.cur.peek() == Some(b'[') {
            return self.value_path(path, path_start);
        }
        self.operator_and_value(path)
    }

    fn operator_and_value(&mut self, path: AttrPath) -> PResult<Filter> {
        if !self.cur.skip_ws() {
            return Err(match self.cur.peek() {
                None => (self.cur.pos, format!("expected an operator after '{path}'")),
                Some(_) => (
                    self.cur.pos,
                    "unexpected character in attribute path".into(),
                ),
            });
        }
        let op_start = self.cur.pos;
        let word = self.cur.word();
        if word.eq_ignore_ascii_case("pr") {
            return match self.cur.peek() {
                None | Some(b' ' | b'\t' | b'\r' | b'\n' | b')' | b']') => {
                    Ok(Filter::Present(path))
                }
                Some(_) => Err((op_start, "unknown operator".into())),
            };
        }
        // Matched in place: no lower-cased copy of the keyword.
        const OPS: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        let op = match OPS.iter().find(|o| o.as_str().eq_ignore_ascii_case(word)) {
            Some(op) => *op,
            None if word.is_empty() => {
                return Err((
                    op_start,
                    "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)".into(),
                ));
            }
            None => {
                return Err((
                    op_start,
                    format!(
                        "unknown operator '{word}' (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)"
                    ),
                ));
            }
        };
        if !self.cur.skip_ws() {
            return Err((
                self.cur.pos,
                format!("expected a space and a value after '{}'", op.as_str()),
            ));
        }
        let value = self.cur.comp_value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value_path(&mut self, path: AttrPath, path_start: usize) -> PResult<Filter> {
        if self.in_value_filter {
            return Err((path_start, "value filters cannot be nested".into()));
        }
        if path.sub_attr.is_some() {
            return Err((
                path_start,
                "'[' must follow an attribute, not a sub-attribute".into(),
            ));
        }
        self.cur.eat(b'[');
        let mut inner = self.bracketed_body()?;
        // Entra: `emails[type eq "work"].value eq "x"` ≡ `emails[type eq "work" and value eq "x"]`.
        if self.cur.eat(b'.') {
            let sub_start = self.cur.pos;
            let sub = self.cur.attr_path()?;
            if sub.urn.is_some() || sub.sub_attr.is_some() {
                return Err((sub_start, "expected a sub-attribute name after ']'.".into()));
            }
            let cmp = self.operator_and_value(sub)?;
            inner = Filter::And(Box::new(inner), Box::new(cmp));
        }
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(inner),
        })
    }

    /// The part after `[` up to and including `]`.
    fn bracketed_body(&mut self) -> PResult<Filter> {
        let open = self.cur.pos.saturating_sub(1);
        self.enter()?;
        let was = std::mem::replace(&mut self.in_value_filter, true);
        self.cur.skip_ws();
        let f = self.or()?;
        self.cur.skip_ws();
        if !self.cur.eat(b']') {
            return Err(match self.cur.peek() {
                None => (open, "'[' is never closed".into()),
                Some(_) => (self.cur.pos, "expected ']'".into()),
            });
        }
        self.in_value_filter = was;
        self.depth -= 1;
        Ok(f)
    }
}
