//! "Test a user": a sample user — one value for each attribute the mapping rules use —
//! tried against every rule from the top, each rule against its own attribute, as a
//! create would be; with where the user would be a host and the notification settings
//! it would start with.

use std::collections::BTreeSet;

use roster_scim::value::fold_case;
use uuid::Uuid;

use super::TenantRules;
use super::mapping::MappingRule;

/// Values a sample may hold, and their length: what the form can send.
const MAX_VALUES: usize = 100;
const MAX_VALUE_CHARS: usize = 200;

/// A sample user: for each attribute (as the rules name it), the value to test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SampleUser(Vec<(String, String)>);

impl SampleUser {
    /// From (attribute, value) pairs as a form sends them; empty values are no value.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            pairs
                .into_iter()
                .take(MAX_VALUES)
                .map(|(attribute, value)| {
                    let value: String = value
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_VALUE_CHARS)
                        .collect();
                    (attribute.trim().to_owned(), value.trim().to_owned())
                })
                .collect(),
        )
    }

    /// The value the sample gives `attribute` (compared ignoring case), if any.
    pub fn value_of(&self, attribute: &str) -> Option<&str> {
        let wanted = fold_case(attribute.trim());
        self.0
            .iter()
            .find(|(a, v)| fold_case(a) == wanted && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// The attributes the rules use, each once, in the order of the rules.
pub fn rule_attributes(rules: &[MappingRule]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    rules
        .iter()
        .filter(|rule| seen.insert(fold_case(rule.attribute.trim())))
        .map(|rule| rule.attribute.clone())
        .collect()
}

/// One rule tried against the sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCheck {
    /// 1-based priority.
    pub position: usize,
    /// `department equals "Sales"`.
    pub rule: String,
    pub attribute: String,
    /// The sample's value of the rule's attribute.
    pub value: Option<String>,
    pub matched: bool,
    /// The first rule that matched: it decides.
    pub decides: bool,
}

/// What "Test a user" found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPreview {
    pub checks: Vec<RuleCheck>,
    /// The rule that decides (its position), if any matched.
    pub decided_by: Option<usize>,
    /// Location names, and kiosks as `Kiosk (Location)`, of the deciding rule.
    pub locations: Vec<String>,
    pub kiosks: Vec<String>,
    /// With "assign users as host" on and no rule matching: the user would be refused.
    pub refused: bool,
    /// The notification settings a new user starts with: `Label: Email, SMS` (or `off`).
    pub notifications: Vec<String>,
}

/// Tries `sample` against the tenant's rules.
pub(crate) fn preview_user(rules: &TenantRules, sample: &SampleUser) -> UserPreview {
    let mut decided: Option<&MappingRule> = None;
    let mut decided_by = None;
    let checks = rules
        .mapping
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let value = sample.value_of(&rule.attribute);
            let matched = value.is_some_and(|v| rule.matches(&[v.to_owned()]));
            let decides = matched && decided.is_none();
            if decides {
                decided = Some(rule);
                decided_by = Some(i + 1);
            }
            RuleCheck {
                position: i + 1,
                rule: rule.describe(),
                attribute: rule.attribute.clone(),
                value: value.map(str::to_owned),
                matched,
                decides,
            }
        })
        .collect();
    let (locations, kiosks) = match decided {
        Some(rule) => {
            let wanted: BTreeSet<Uuid> = rule.kiosks.iter().copied().collect();
            (
                rules
                    .locations
                    .iter()
                    .filter(|l| rule.locations.contains(&l.id))
                    .map(|l| l.name.clone())
                    .collect(),
                rules
                    .locations
                    .iter()
                    .flat_map(|l| l.kiosks.iter().map(move |k| (l, k)))
                    .filter(|(_, k)| wanted.contains(&k.id))
                    .map(|(l, k)| format!("{} ({})", k.name, l.name))
                    .collect(),
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    let notifications = rules
        .catalogue
        .iter()
        .map(|t| {
            let channels: Vec<&str> = t.defaults.iter().map(|c| c.label()).collect();
            if channels.is_empty() {
                format!("{}: off", t.label)
            } else {
                format!("{}: {}", t.label, channels.join(", "))
            }
        })
        .collect();
    UserPreview {
        checks,
        decided_by,
        locations,
        kiosks,
        refused: decided.is_none() && rules.settings.assign_hosts,
        notifications,
    }
}
