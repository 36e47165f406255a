//! The provisioning log (one row per SCIM or API request) as stored.
