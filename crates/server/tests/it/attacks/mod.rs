//! Issue 11's attacks, each reproduced as an attacker would run it, asserting the
//! behaviour that now holds (docs/security.md names the test of each control). Tenants
//! are adversaries of each other; anonymous clients of everyone.

mod accounts;
mod egress;
mod fuzz;
mod memory;
mod metrics_cardinality;
mod passwords;
mod resources;
mod secrets_at_rest;
