//! CSV exports of the admin's lists (users, groups, the provisioning log, the audit log),
//! streamed a keyset page at a time: an export of a million rows holds one page in memory,
//! and costs what paging through the list costs.
//!
//! Cells that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage
//! return first) are prefixed with `'`: identity providers choose user names, and an
//! export must not run what they chose when an admin opens it.

use std::future::Future;

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream;

use super::error::AdminError;

/// Rows per page fetched for an export.
pub(crate) const EXPORT_PAGE: u64 = 200;

/// One cell, defused against spreadsheet formulas.
fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// Encodes rows as CSV (RFC 4180 quoting by the `csv` crate).
fn encode(rows: &[Vec<String>]) -> Result<Bytes, AdminError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(row.iter().map(|value| cell(value).into_owned()))
            .map_err(|_| AdminError::Internal)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|_| AdminError::Internal)
}

/// What an export's page fetcher returns: the rows and the cursor of the next page.
pub(crate) type Fetched<K> = Result<(Vec<Vec<String>>, Option<K>), AdminError>;

/// A streamed CSV download named `filename`: the header row, then the pages `fetch`
/// returns from `None` (the first) until it returns no next cursor. A failure in the
/// middle ends the download (it was logged where it happened).
pub(crate) fn csv<K, F, Fut>(filename: &str, columns: &[&str], fetch: F) -> HttpResponse
where
    K: Send + 'static,
    F: Fn(Option<K>) -> Fut + 'static,
    Fut: Future<Output = Fetched<K>> + 'static,
{
    let header_row = encode(&[columns.iter().map(|c| (*c).to_owned()).collect()]);
    enum State<K> {
        Start,
        Next(K),
        Done,
    }
    let pages = stream::unfold(State::Start, move |state| {
        let cursor = match state {
            State::Start => Some(None),
            State::Next(key) => Some(Some(key)),
            State::Done => None,
        };
        let fetched = cursor.map(&fetch);
        async move {
            let (rows, next) = match fetched?.await {
                Ok(page) => page,
                Err(err) => return Some((Err(err), State::Done)),
            };
            let chunk = encode(&rows);
            let state = next.map_or(State::Done, State::Next);
            Some((chunk, state))
        }
    });
    let body = stream::iter([header_row]).chain(pages);
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body.map(|chunk| chunk.map_err(actix_web::Error::from)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_quotes_escaped() {
        let bytes = encode(&[vec![
            "=HYPERLINK(\"x\")".to_owned(),
            "ada@acme.test".to_owned(),
            "a,b".to_owned(),
        ]])
        .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert_eq!(text, "\"'=HYPERLINK(\"\"x\"\")\",ada@acme.test,\"a,b\"\n");
    }
}
