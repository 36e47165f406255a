//! SeaORM entities: one module per table, nothing else.
//!
//! Architecture invariant: this crate describes rows. It knows no business rules and no
//! SCIM; the services in `roster-core` turn rows into domain values and back. Every table
//! that holds tenant data carries `tenant_id`, and the tenant-scoped handles in
//! `roster-core` are the only code that queries them.
//!
//! Timestamps are `i64` microseconds since the Unix epoch (UTC). The same integer type on
//! SQLite and PostgreSQL keeps comparisons and ordering identical on both backends.

pub mod admin;
pub mod admin_invitation;
pub mod admin_session;
pub mod audit_log;
pub mod custom_attribute;
pub mod event;
pub mod group;
pub mod group_member;
pub mod host_job;
pub mod kiosk;
pub mod location;
pub mod location_rule;
pub mod login_throttle;
pub mod notification_type;
pub mod provisioning_log;
pub mod scim_token;
pub mod setup_link;
pub mod setup_session;
pub mod tenant;
pub mod tenant_defaults;
pub mod tenant_membership;
pub mod tenant_settings;
pub mod trusted_device;
pub mod trusted_domain;
pub mod user;
pub mod user_email;
pub mod user_value;
pub mod webhook_delivery;
pub mod webhook_endpoint;
