//! Unit tests of the configuration: the DNS nameserver, the webhook allow list, the
//! secret key and trusted proxies.

#![allow(clippy::unwrap_used)]
use secrecy::ExposeSecret;

use super::*;

#[test]
fn the_dns_nameserver_is_an_ip_with_an_optional_port() {
    let mut config = Config::default();
    assert_eq!(config.dns_settings().unwrap().nameserver, None);
    config.dns_nameserver = Some("127.0.0.1:5353".into());
    assert_eq!(
        config.dns_settings().unwrap().nameserver,
        Some("127.0.0.1:5353".parse().unwrap())
    );
    config.dns_nameserver = Some("10.0.0.2".into());
    assert_eq!(
        config.dns_settings().unwrap().nameserver,
        Some("10.0.0.2:53".parse().unwrap())
    );
    config.dns_nameserver = Some("dns.example.com".into());
    let err = config.dns_settings().unwrap_err().to_string();
    assert!(err.contains("ROSTER_DNS_NAMESERVER"), "{err}");
    config.dns_nameserver = None;
    config.dns_timeout_secs = 0;
    assert!(config.dns_settings().is_err());
}

#[test]
fn the_webhook_allow_list_is_checked_and_named_in_errors() {
    let mut config = Config::default();
    assert_eq!(config.egress_policy().unwrap(), EgressPolicy::default());
    config.webhook_allowed_networks = "10.20.0.0/16, fd12::/64".into();
    assert_eq!(config.egress_policy().unwrap().allowed().len(), 2);
    config.webhook_allowed_networks = "10.20.0.0/16, intranet".into();
    let err = config.check().unwrap_err().to_string();
    assert!(err.starts_with("ROSTER_WEBHOOK_ALLOWED_NETWORKS"), "{err}");
    assert!(err.contains("\"intranet\""), "{err}");
}

#[test]
fn the_secret_key_comes_from_the_setting_a_file_or_beside_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        DatabaseUrl::parse(&format!("sqlite://{}/d/roster.db", dir.path().display())).unwrap();
    let postgres = DatabaseUrl::parse("postgres://roster@db/roster").unwrap();
    let mut config = Config::default();

    // SQLite without a key: generated once, then read.
    let generated = config.keyring(&sqlite).unwrap();
    assert!(dir.path().join("d/secret.key").exists());
    assert_eq!(
        config.keyring(&sqlite).unwrap().current_id(),
        generated.current_id()
    );
    let memory = DatabaseUrl::parse("sqlite::memory:").unwrap();
    assert!(config.keyring(&memory).is_ok());
    let err = config.keyring(&postgres).unwrap_err().to_string();
    assert!(err.starts_with("ROSTER_SECRET_KEY (or ROSTER_SECRET_KEY_FILE) must be set"));

    let key = SecretKey::generate();
    let old = SecretKey::generate();
    config.secret_key = Some(key.encode().expose_secret().to_owned());
    config.secret_key_previous = Some(old.encode().expose_secret().to_owned());
    config.check().unwrap();
    let ring = config.keyring(&postgres).unwrap();
    assert_eq!(ring.current_id(), key.id());
    assert_eq!(ring.previous_id(), Some(old.id()));
    assert!(!format!("{config:?}").contains(key.encode().expose_secret()));

    let file = dir.path().join("key");
    std::fs::write(&file, format!("{}\n", key.encode().expose_secret())).unwrap();
    config.secret_key_file = Some(file.display().to_string());
    let err = config.check().unwrap_err().to_string();
    assert_eq!(
        err,
        "set ROSTER_SECRET_KEY or ROSTER_SECRET_KEY_FILE, not both"
    );
    config.secret_key = Some(String::new());
    config.check().unwrap();
    assert_eq!(config.keyring(&postgres).unwrap().current_id(), key.id());

    config.secret_key_previous = Some("too short".into());
    let err = config.check().unwrap_err().to_string();
    assert!(
        err.starts_with("ROSTER_SECRET_KEY_PREVIOUS must be 32 random bytes"),
        "{err}"
    );
}

#[test]
fn trusted_proxies_are_networks_or_addresses() {
    let mut config = Config::default();
    assert!(config.trusted_proxies().unwrap().is_empty());
    config.trusted_proxies = "127.0.0.1/32, 10.0.0.0/8, ::1".into();
    assert!(!config.trusted_proxies().unwrap().is_empty());
    config.trusted_proxies = "10.0.0.0/8, nginx".into();
    let err = config.trusted_proxies().unwrap_err().to_string();
    assert!(
        err.contains("ROSTER_TRUSTED_PROXIES") && err.contains("nginx"),
        "{err}"
    );
}
