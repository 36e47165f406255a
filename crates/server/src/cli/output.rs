//! How the subcommands print: aligned columns for people, JSON (`--json`) for scripts.

use serde::Serialize;

use super::println_out;

/// Prints rows under headers, each column as wide as its widest cell.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
        }
        text.trim_end().to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    println_out(&out.join("\n"));
}

/// Prints a value as pretty JSON.
pub(super) fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println_out(&serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `-` for a missing value.
pub(super) fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}
