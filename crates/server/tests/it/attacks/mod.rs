//! Issue 11's attacks, each reproduced as an attacker would run it, with the behaviour
//! that now holds. Tenants are adversaries of each other; anonymous clients of everyone.

mod fuzz;
mod resources;
