//! Issue 11's attacks, reproduced as an attacker would, each asserting the fixed
//! behaviour (see docs/security.md).

mod accounts;
