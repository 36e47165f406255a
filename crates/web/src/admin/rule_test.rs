//! "Test a user" on the mapping rules page: a sample user with one field per attribute
//! the rules use, posted, and each rule's answer against its own attribute, with where
//! the user would be a host and the notification settings it would start with.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_core::rules::{MappingRule, SampleUser, UserPreview, rule_attributes};

use super::error::AdminError;
use super::forms::{Pairs, Submitted};
use super::locations::{RuleForm, rules_page};
use super::page::ok;
use super::session::TenantPage;
use crate::AppState;

/// One field of the sample user.
pub(crate) struct SampleField {
    pub(crate) attribute: String,
    pub(crate) value: String,
}

/// The fields of the form: the rules' attributes, with the values of `sample`.
pub(crate) fn fields(rules: &[MappingRule], sample: Option<&SampleUser>) -> Vec<SampleField> {
    rule_attributes(rules)
        .into_iter()
        .map(|attribute| SampleField {
            value: sample
                .and_then(|s| s.value_of(&attribute))
                .unwrap_or_default()
                .to_owned(),
            attribute,
        })
        .collect()
}

/// One rule's line of the answer.
pub(crate) struct CheckRow {
    pub(crate) position: usize,
    pub(crate) rule: String,
    pub(crate) value: String,
    /// `decides`, `matched` (an earlier rule decides), `no match` or `no value`.
    pub(crate) result: &'static str,
}

pub(crate) struct PreviewView {
    pub(crate) checks: Vec<CheckRow>,
    /// The sentence that sums it up.
    pub(crate) outcome: String,
    pub(crate) matched: bool,
    pub(crate) notifications: Vec<String>,
}

impl From<UserPreview> for PreviewView {
    fn from(found: UserPreview) -> Self {
        let outcome = match found.decided_by {
            Some(n) => {
                let mut text = format!("Rule {n} decides: host at {}", found.locations.join(", "));
                if !found.kiosks.is_empty() {
                    text.push_str(&format!("; kiosks {}", found.kiosks.join(", ")));
                }
                text.push('.');
                text
            }
            None if found.refused => {
                "No rule matches: such a user would not be added (“Assign users to locations \
                 and kiosks as host” is on)."
                    .to_owned()
            }
            None => "No rule matches: such a user would be added without a location.".to_owned(),
        };
        Self {
            checks: found
                .checks
                .into_iter()
                .map(|c| CheckRow {
                    position: c.position,
                    rule: c.rule,
                    result: match (&c.value, c.matched, c.decides) {
                        (None, _, _) => "no value",
                        (_, true, true) => "decides",
                        (_, true, false) => "matched",
                        (_, false, _) => "no match",
                    },
                    value: c.value.unwrap_or_default(),
                })
                .collect(),
            matched: found.decided_by.is_some(),
            outcome,
            notifications: found.notifications,
        }
    }
}

/// `POST /admin/t/{slug}/rules/test`: the rules page with the sample's answer.
pub(crate) async fn test_user(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let sample = SampleUser::new(
        form.all("attribute")
            .zip(form.all("value"))
            .map(|(a, v)| (a.to_owned(), v.to_owned())),
    );
    ok(&rules_page(&req, &state, &page, RuleForm::default(), Some(sample)).await?)
}
