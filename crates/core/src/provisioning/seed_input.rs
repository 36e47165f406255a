//! A user to seed, as the product sends it (`SeedInput`: the API's JSON, or a CSV row)
//! and as Roster accepts it (`SeedUser`, parsed once, every value bounded).

use serde::Deserialize;
use serde_json::{Value, json};

use super::fold_case;

/// Longest userName, in characters (at most 1,024 bytes: the bound of every indexed
/// SCIM string).
const MAX_USER_NAME_CHARS: usize = 256;
/// Longest email address, in characters (RFC 5321's path limit is 254 octets).
const MAX_EMAIL_CHARS: usize = 254;
/// Emails per seeded user.
pub const MAX_EMAILS: usize = 10;
/// Longest given or family name, in characters.
const MAX_NAME_CHARS: usize = 256;
/// Longest displayName (made of the given and family names), in bytes: the bound of
/// every indexed SCIM string.
const MAX_DISPLAY_NAME_BYTES: usize = 1024;
/// Longest product reference, in characters.
pub const MAX_PRODUCT_REF_CHARS: usize = 255;

/// One user as the product describes it; every field is checked by [`SeedUser::parse`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedInput {
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub name: Option<SeedName>,
    #[serde(default)]
    pub product_ref: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedName {
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
}

/// A user that can be seeded: userName present, every value within its bound, no
/// control characters, emails shaped like addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedUser {
    user_name: String,
    user_name_lower: String,
    emails: Vec<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    product_ref: Option<String>,
}

/// What is wrong with one user of a seed (or, without an index, with the request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemError {
    /// The user's position in the request (0-based), if the error is about one user.
    pub index: Option<usize>,
    pub user_name: Option<String>,
    pub field: String,
    pub message: String,
    /// The other user of the request this one collides with, if any.
    pub same_as: Option<usize>,
}

impl ItemError {
    pub(crate) fn of(index: usize, seed: &SeedUser, field: &str, message: String) -> Self {
        Self {
            index: Some(index),
            user_name: Some(seed.user_name.clone()),
            field: field.to_owned(),
            message,
            same_as: None,
        }
    }

    /// This user repeats the `field` of the request's user `first`.
    pub(crate) fn repeats(index: usize, seed: &SeedUser, field: &str, first: usize) -> Self {
        Self {
            same_as: Some(first),
            ..Self::of(
                index,
                seed,
                field,
                format!("the same {field} as another user of this request"),
            )
        }
    }

    pub fn request(message: String) -> Self {
        Self {
            index: None,
            user_name: None,
            field: String::new(),
            message,
            same_as: None,
        }
    }

    /// The error as one sentence: `user #3 ("ada@acme.test"): productRef: …`.
    pub fn sentence(&self) -> String {
        let mut out = String::new();
        if let Some(index) = self.index {
            out.push_str(&format!("user #{index}"));
            if let Some(name) = &self.user_name {
                out.push_str(&format!(" (\"{name}\")"));
            }
            out.push_str(": ");
        }
        if !self.field.is_empty() {
            out.push_str(&self.field);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        if let Some(first) = self.same_as {
            out.push_str(&format!(" (user #{first})"));
        }
        out
    }
}

/// An optional text value: empty or blank is absent; at most `max` characters, no
/// control characters. Values are taken as given (the CSV import trims its cells), so
/// these checks are exactly what docs/api/openapi.yaml declares.
fn text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, (String, String)> {
    let Some(value) = raw else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err((
            field.to_owned(),
            format!("at most {max} characters are accepted"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err((
            field.to_owned(),
            "must not contain control characters".to_owned(),
        ));
    }
    if value.chars().all(char::is_whitespace) {
        return Ok(None);
    }
    Ok(Some(value.to_owned()))
}

/// An address: one `@`, a local part and a domain with a dot (not first), no white
/// space, control characters, `,` or `;`, at most [`MAX_EMAIL_CHARS`] characters.
fn email(value: &str) -> Result<String, String> {
    if value.chars().count() > MAX_EMAIL_CHARS {
        return Err(format!(
            "\"{}…\" is longer than {MAX_EMAIL_CHARS} characters",
            value.chars().take(40).collect::<String>()
        ));
    }
    let allowed = |c: char| !(c.is_whitespace() || c.is_control() || matches!(c, ',' | ';'));
    let shaped = value.chars().all(allowed)
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && domain.chars().skip(1).any(|c| c == '.')
        });
    if shaped {
        Ok(value.to_owned())
    } else {
        Err(format!("\"{value}\" is not an email address"))
    }
}

/// `text` cut at a character boundary to at most `max` bytes.
fn within_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl SeedUser {
    /// Checks one user; every problem of the user at once, as `(field, message)`.
    pub fn parse(input: &SeedInput) -> Result<Self, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let user_name = match input.user_name.as_deref() {
            None => {
                errors.push(("userName".to_owned(), "is required".to_owned()));
                None
            }
            Some(name) if name.chars().count() > MAX_USER_NAME_CHARS => {
                errors.push((
                    "userName".to_owned(),
                    format!("at most {MAX_USER_NAME_CHARS} characters are accepted"),
                ));
                None
            }
            Some(name) if name.chars().any(char::is_control) => {
                errors.push((
                    "userName".to_owned(),
                    "must not contain control characters".to_owned(),
                ));
                None
            }
            Some(name) if name.chars().all(char::is_whitespace) => {
                errors.push((
                    "userName".to_owned(),
                    "is required (it is blank)".to_owned(),
                ));
                None
            }
            Some(name) => Some(name.to_owned()),
        };
        let given = input.name.as_ref().and_then(|n| n.given_name.as_deref());
        let family = input.name.as_ref().and_then(|n| n.family_name.as_deref());
        let mut field = |result: Result<Option<String>, (String, String)>| match result {
            Ok(value) => value,
            Err(err) => {
                errors.push(err);
                None
            }
        };
        let given_name = field(text("name.givenName", given, MAX_NAME_CHARS));
        let family_name = field(text("name.familyName", family, MAX_NAME_CHARS));
        let product_ref = field(text(
            "productRef",
            input.product_ref.as_deref(),
            MAX_PRODUCT_REF_CHARS,
        ));
        let given: Vec<&str> = input.emails.iter().map(String::as_str).collect();
        let mut emails = Vec::new();
        if given.len() > MAX_EMAILS {
            errors.push((
                "emails".to_owned(),
                format!("{} emails; at most {MAX_EMAILS} are accepted", given.len()),
            ));
        } else {
            for raw in given {
                match email(raw) {
                    Ok(value) if !emails.contains(&value) => emails.push(value),
                    Ok(_) => {}
                    Err(message) => errors.push(("emails".to_owned(), message)),
                }
            }
        }
        match user_name {
            Some(user_name) if errors.is_empty() => Ok(Self {
                user_name_lower: fold_case(&user_name),
                user_name,
                emails,
                given_name,
                family_name,
                product_ref,
            }),
            _ => Err(errors),
        }
    }

    pub fn user_name(&self) -> &str {
        &self.user_name
    }

    pub(crate) fn user_name_lower(&self) -> &str {
        &self.user_name_lower
    }

    pub fn product_ref(&self) -> Option<&str> {
        self.product_ref.as_deref()
    }

    /// The SCIM body a create of this user would carry: the seeded user is parsed by
    /// the tenant's schema exactly like an identity provider's.
    pub(crate) fn scim_body(&self) -> Value {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": self.user_name,
            "active": true,
        });
        let formatted = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !formatted.is_empty() {
            let mut name = json!({ "formatted": formatted });
            if let Some(given) = &self.given_name {
                name["givenName"] = json!(given);
            }
            if let Some(family) = &self.family_name {
                name["familyName"] = json!(family);
            }
            body["name"] = name;
            body["displayName"] = json!(within_bytes(&formatted, MAX_DISPLAY_NAME_BYTES));
        }
        if !self.emails.is_empty() {
            body["emails"] = Value::Array(
                self.emails
                    .iter()
                    .enumerate()
                    .map(|(i, value)| json!({ "value": value, "type": "work", "primary": i == 0 }))
                    .collect(),
            );
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(user_name: &str, emails: &[&str], product_ref: Option<&str>) -> SeedInput {
        SeedInput {
            user_name: Some(user_name.to_owned()),
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            name: None,
            product_ref: product_ref.map(str::to_owned),
        }
    }

    #[test]
    fn a_user_is_bounded_and_shaped() {
        let ok = SeedUser::parse(&input("Ada@Acme.test", &["ada@acme.test"], Some("u-1")));
        let ok = ok.unwrap();
        assert_eq!(ok.user_name(), "Ada@Acme.test");
        for bad in [
            "",
            "a",
            "@acme.test",
            "a@.test",
            "a@test",
            "a@b@c.test",
            "a b@c.test",
            "a@c.test;",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(email("a@b.c").is_ok());
        let long = "é".repeat(256);
        let named = SeedUser::parse(&SeedInput {
            name: Some(SeedName {
                given_name: Some(long.clone()),
                family_name: Some(long),
            }),
            ..input("x", &[], None)
        })
        .unwrap();
        let display = named.scim_body()["displayName"].as_str().unwrap().len();
        assert!(display <= MAX_DISPLAY_NAME_BYTES, "{display}");
        assert!(SeedUser::parse(&input("  ", &[], None)).is_err());
        assert_eq!(ok.user_name_lower(), "ada@acme.test");
        assert_eq!(ok.scim_body()["emails"][0]["primary"], true);

        let errors =
            SeedUser::parse(&input("", &["not-an-address"], Some(&"x".repeat(256)))).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["userName", "productRef", "emails"]);

        let many: Vec<String> = (0..11).map(|i| format!("u{i}@acme.test")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(SeedUser::parse(&input("ada", &many, None)).is_err());
        assert!(SeedUser::parse(&input("a\u{0}da", &[], None)).is_err());
    }
}
