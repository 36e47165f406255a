//! Token parsing and expiry, without a database.

use super::*;

#[test]
fn token_format_is_checked_before_any_lookup() {
    let secret = "A".repeat(SECRET_LEN);
    let good = format!("rst_0123456789abcdef_{secret}");
    let parsed = PresentedToken::parse(&good).unwrap();
    assert_eq!(parsed.public_id(), "0123456789abcdef");
    assert!(!format!("{parsed:?}").contains(&secret));
    assert!(PresentedToken::parse("rst_0123456789abcdef").is_none());
    assert!(PresentedToken::parse(&format!("rst_0123456789ABCDEF_{secret}")).is_none());
    assert!(PresentedToken::parse(&format!("xyz_0123456789abcdef_{secret}")).is_none());
    assert!(PresentedToken::parse(&format!("rst_0123456789abcdef_{secret}x")).is_none());
    // One kind's prefix never parses as the other's.
    assert!(PresentedToken::parse(&format!("rak_0123456789abcdef_{secret}")).is_none());
    assert!(PresentedToken::parse_kind(TokenKind::Api, &good).is_none());
    let key = PresentedToken::parse_kind(TokenKind::Api, &format!("rak_0123456789abcdef_{secret}"))
        .unwrap();
    assert_eq!(key.kind(), TokenKind::Api);
    let underscore_secret = format!("rst_0123456789abcdef_{}_", "A".repeat(SECRET_LEN - 1));
    assert!(PresentedToken::parse(&underscore_secret).is_some());
}

#[test]
fn expiry_is_the_end_of_a_future_day_or_nothing() {
    assert_eq!(
        TokenExpiry::parse("  ", crate::time::Clock::system().now())
            .unwrap()
            .at(),
        None
    );
    let at = TokenExpiry::parse("2999-01-31", crate::time::Clock::system().now())
        .unwrap()
        .at()
        .unwrap();
    assert_eq!(at.to_rfc3339(), "2999-01-31T23:59:59.999999Z");
    assert!(TokenExpiry::parse("2000-01-01", crate::time::Clock::system().now()).is_err());
    assert!(TokenExpiry::parse("31/01/2999", crate::time::Clock::system().now()).is_err());
    assert!(TokenExpiry::parse("2999-02-30", crate::time::Clock::system().now()).is_err());
}
