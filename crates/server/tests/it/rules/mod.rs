//! The tenant rules through real SCIM requests: trusted domains (with DNS verification
//! against a server on loopback), domain-scoped tokens, provisioning settings,
//! notification defaults, location mapping and custom attributes.

mod custom;
pub(crate) mod dns;
mod domains;
mod follow;
mod formats;
mod kept_values;
mod log_names;
mod mapping;
mod notifications;
pub(crate) mod policy;
mod settings;
pub(crate) mod support;
mod test_a_user;
mod user_formats;
