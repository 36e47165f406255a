//! The admin's CSV import of the product's existing users: a header row naming the
//! columns (`userName`, `email`, `givenName`, `familyName`, `productRef`; only
//! `userName` is required, the order is free), then one user per line. Several emails
//! go in one `email` cell separated by `;`. Bounded: [`MAX_CSV_BYTES`] of text,
//! [`MAX_CSV_ROWS`] users. Each line is parsed into a [`SeedUser`] or its errors, with
//! its line number, so the page can show every problem next to its line.

use super::seed_input::{SeedInput, SeedName, SeedUser};

/// Largest CSV accepted, in bytes.
pub const MAX_CSV_BYTES: usize = 5 * 1024 * 1024;
/// Most users in one import.
pub const MAX_CSV_ROWS: usize = 50_000;

/// One problem of the file, by line (none for the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvError {
    pub line: Option<u64>,
    pub user_name: String,
    pub field: String,
    pub message: String,
}

/// A CSV read into users: those that parsed (with their lines) and every line's errors.
#[derive(Clone, Debug, Default)]
pub struct SeedCsv {
    pub users: Vec<SeedUser>,
    /// The line of each of `users`.
    pub lines: Vec<u64>,
    pub errors: Vec<CsvError>,
    /// Data lines read (good or not).
    pub rows: usize,
}

#[derive(Clone, Copy)]
enum Column {
    UserName,
    Email,
    GivenName,
    FamilyName,
    ProductRef,
}

const COLUMNS: &str = "userName, email, givenName, familyName, productRef";

fn column(header: &str) -> Option<Column> {
    let key: String = header
        .trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    match key.as_str() {
        "username" => Some(Column::UserName),
        "email" | "emails" => Some(Column::Email),
        "givenname" => Some(Column::GivenName),
        "familyname" => Some(Column::FamilyName),
        "productref" => Some(Column::ProductRef),
        _ => None,
    }
}

fn file_error(message: String) -> SeedCsv {
    SeedCsv {
        errors: vec![CsvError {
            line: None,
            user_name: String::new(),
            field: String::new(),
            message,
        }],
        ..SeedCsv::default()
    }
}

/// Reads a CSV. A file-level problem (too large, no header, an unknown column, too
/// many lines) is its only error; otherwise every line's errors are listed.
pub fn parse_seed_csv(text: &str) -> SeedCsv {
    if text.len() > MAX_CSV_BYTES {
        return file_error(format!(
            "the CSV is {} bytes; at most {MAX_CSV_BYTES} (5 MB) are accepted — split it",
            text.len()
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return file_error("the CSV contains a NUL character; is it a text file?".to_owned());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) if !headers.iter().all(str::is_empty) => headers.clone(),
        _ => {
            return file_error(format!("the first line must name the columns: {COLUMNS}"));
        }
    };
    let mut columns = Vec::with_capacity(headers.len());
    for header in &headers {
        match column(header) {
            Some(c) => columns.push(c),
            None => {
                return file_error(format!(
                    "unknown column \"{}\" in the first line; the columns are {COLUMNS}",
                    header.chars().take(60).collect::<String>()
                ));
            }
        }
    }
    if !columns.iter().any(|c| matches!(c, Column::UserName)) {
        return file_error(format!("the first line has no userName column ({COLUMNS})"));
    }
    let mut out = SeedCsv::default();
    for record in reader.records() {
        out.rows += 1;
        if out.rows > MAX_CSV_ROWS {
            return file_error(format!(
                "more than {MAX_CSV_ROWS} users; import them in several files"
            ));
        }
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                out.errors.push(CsvError {
                    line: err.position().map(csv::Position::line),
                    user_name: String::new(),
                    field: String::new(),
                    message: format!("this line is not valid CSV: {err}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != columns.len() {
            out.errors.push(CsvError {
                line: Some(line),
                user_name: String::new(),
                field: String::new(),
                message: format!("{} values for {} columns", record.len(), columns.len()),
            });
            continue;
        }
        let mut input = SeedInput::default();
        let mut name = SeedName::default();
        for (value, column) in record.iter().zip(&columns) {
            let value = (!value.is_empty()).then(|| value.to_owned());
            match column {
                Column::UserName => input.user_name = value,
                Column::Email => input.emails.extend(
                    value
                        .iter()
                        .flat_map(|v| v.split(';'))
                        .map(str::trim)
                        .filter(|e| !e.is_empty())
                        .map(str::to_owned),
                ),
                Column::GivenName => name.given_name = value,
                Column::FamilyName => name.family_name = value,
                Column::ProductRef => input.product_ref = value,
            }
        }
        input.name = Some(name);
        match SeedUser::parse(&input) {
            Ok(user) => {
                out.users.push(user);
                out.lines.push(line);
            }
            Err(problems) => {
                let user_name = input.user_name.unwrap_or_default();
                out.errors
                    .extend(problems.into_iter().map(|(field, message)| CsvError {
                        line: Some(line),
                        user_name: user_name.clone(),
                        field,
                        message,
                    }));
            }
        }
    }
    if out.rows == 0 {
        return file_error("the CSV has a header but no users".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_parsed_with_their_numbers_and_errors() {
        let csv = "\u{feff}UserName,Email,givenName,family_name,productRef\n\
                   ada@acme.test,ada@acme.test;ada2@acme.test,Ada,Lovelace,u-1\n\
                   ,bob@acme.test,Bob,,u-2\n\
                   \"cy, the third\",cy@acme,Cy,,u-3\n\
                   too,many,values,here,x,y\n";
        let parsed = parse_seed_csv(csv);
        assert_eq!(parsed.rows, 4);
        assert_eq!(parsed.lines, [2]);
        assert_eq!(parsed.users[0].product_ref(), Some("u-1"));
        let lines: Vec<Option<u64>> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(3), Some(4), Some(5)]);
        assert_eq!(parsed.errors[0].field, "userName");
        assert_eq!(parsed.errors[1].field, "emails");
    }

    #[test]
    fn file_problems_are_one_error() {
        assert_eq!(parse_seed_csv("").errors.len(), 1);
        let unknown = parse_seed_csv("userName,password\nada,secret\n");
        assert!(
            unknown.errors[0]
                .message
                .contains("unknown column \"password\"")
        );
        assert!(
            parse_seed_csv("email\nada@acme.test\n").errors[0]
                .message
                .contains("no userName column")
        );
        let big = "userName\n".to_owned() + &"a\n".repeat(MAX_CSV_ROWS + 1);
        assert!(parse_seed_csv(&big).errors[0].message.contains("more than"));
    }
}
