//! The SCIM endpoint, request by request, as Okta and Entra use it.

mod case_fold;
mod concurrency;
mod entra;
mod filter_sql;
mod groups;
mod isolation;
mod nodes;
mod okta;
mod paging;
mod protocol;
mod shared_url;
pub(crate) mod support;
