//! Unit tests of setup-link values: abilities and lifetimes.

use super::*;

#[test]
fn abilities_round_trip_and_need_one() {
    let parsed = Abilities::parse(["tokens", "log", "bogus"]).unwrap();
    assert!(parsed.tokens && parsed.log && !parsed.guide && !parsed.users);
    assert_eq!(Abilities::from_stored(&parsed.stored()), parsed);
    assert!(Abilities::parse(["bogus"]).is_err());
    assert_eq!(Abilities::ALL.names(), ["tokens", "guide", "log", "users"]);
}

#[test]
fn lifetimes_are_the_offered_ones() {
    assert_eq!(SetupLinkLifetime::parse("72").unwrap().hours(), 72);
    assert!(SetupLinkLifetime::parse("5").is_err());
    assert!(SetupLinkLifetime::parse("forever").is_err());
    assert!(SetupLinkLabel::parse("  ").is_err());
    assert!(SetupLinkLabel::parse("Okta setup\u{7}").is_err());
}
