//! Tenants as stored.
