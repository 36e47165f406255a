//! Issue 11's attacks, reproduced as an attacker would, each asserting the fixed
//! behaviour (docs/security.md names the test of each control).

mod egress;
mod metrics_cardinality;
mod secrets_at_rest;
