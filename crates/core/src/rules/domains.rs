//! Trusted email domains and their verification through a DNS TXT record.
//!
//! Roster gives each domain a random token; the tenant publishes
//! `roster-verification=<token>` as a TXT record of the domain itself, and "Verify" looks
//! it up. The resolver's nameserver is configurable (`ROSTER_DNS_NAMESERVER`), so that
//! tests answer from a DNS server on loopback; without it the system's resolver is used.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::{ResolveErrorKind, TokioResolver};
use uuid::Uuid;

use crate::time::Timestamp;
use crate::{Error, Result};

/// The start of the TXT record value Roster looks for.
pub const TXT_PREFIX: &str = "roster-verification=";

/// A domain name as email addresses use it: lower-case ASCII (internationalised names
/// are converted to their `xn--` form), at least two labels, no trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(
                "domain",
                "must be a domain name such as example.com (without @ or https://)",
            )
        };
        let trimmed = raw.trim().trim_end_matches('.');
        if trimmed.is_empty() || trimmed.len() > 253 || trimmed.contains(['@', '/', ':']) {
            return Err(invalid());
        }
        let ascii = match url::Host::parse(trimmed) {
            Ok(url::Host::Domain(domain)) => domain,
            _ => return Err(invalid()),
        };
        let labels: Vec<&str> = ascii.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
        if labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok || ascii.len() > 253 {
            return Err(invalid());
        }
        Ok(Self(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a domain was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub at: Timestamp,
    /// `dns`, or the operator who marked it by hand.
    pub by: String,
}

/// A domain of a tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedDomain {
    pub id: Uuid,
    pub domain: EmailDomain,
    pub include_subdomains: bool,
    pub verification_token: String,
    pub verified: Option<Verification>,
    pub last_checked_at: Option<Timestamp>,
    pub last_check_error: Option<String>,
    pub created_at: Timestamp,
}

impl TrustedDomain {
    /// The TXT record value to publish.
    pub fn txt_value(&self) -> String {
        format!("{TXT_PREFIX}{}", self.verification_token)
    }

    /// Whether an email's domain (already lower case) is this domain, or one of its
    /// subdomains when they are included.
    pub fn covers(&self, host: &str) -> bool {
        let domain = self.domain.as_str();
        host == domain
            || (self.include_subdomains
                && host.len() > domain.len()
                && host.ends_with(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
    }

    /// `example.com`, or `example.com (and subdomains)`.
    pub fn describe(&self) -> String {
        if self.include_subdomains {
            format!("{} (and subdomains)", self.domain)
        } else {
            self.domain.to_string()
        }
    }
}

/// Where verification lookups go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsSettings {
    /// A nameserver (`ip:port`, UDP and TCP) to ask instead of the system's resolvers.
    pub nameserver: Option<SocketAddr>,
    /// How long one lookup may take.
    pub timeout: Option<Duration>,
}

/// What a lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    Verified,
    /// Not verified; a sentence for the admin saying why.
    NotYet(String),
}

/// Looks up verification records.
#[derive(Clone)]
pub struct DomainVerifier {
    resolver: std::result::Result<TokioResolver, String>,
}

impl std::fmt::Debug for DomainVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainVerifier").finish_non_exhaustive()
    }
}

impl DomainVerifier {
    pub fn new(settings: &DnsSettings) -> Self {
        let mut options = ResolverOpts::default();
        // A verification must see the record published a minute ago, not a cached miss.
        options.cache_size = 0;
        options.timeout = settings.timeout.unwrap_or(Duration::from_secs(5));
        options.attempts = 2;
        let resolver = match settings.nameserver {
            Some(addr) => {
                let servers =
                    NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                Ok(TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, Vec::new(), servers),
                    TokioConnectionProvider::default(),
                )
                .with_options(options)
                .build())
            }
            None => TokioResolver::builder_tokio()
                .map(|builder| builder.with_options(options).build())
                .map_err(|err| format!("the system's DNS configuration cannot be read: {err}")),
        };
        Self { resolver }
    }

    /// Looks for `roster-verification=<token>` among the domain's TXT records.
    pub async fn check(&self, domain: &EmailDomain, token: &str) -> VerifyOutcome {
        let resolver = match &self.resolver {
            Ok(resolver) => resolver,
            Err(why) => return VerifyOutcome::NotYet(why.clone()),
        };
        let expected = format!("{TXT_PREFIX}{token}");
        let name = format!("{}.", domain.as_str());
        match resolver.txt_lookup(name).await {
            Ok(lookup) => {
                let found: Vec<String> = lookup
                    .iter()
                    .map(|txt| {
                        // A long TXT value may come split in strings of 255 bytes.
                        txt.txt_data()
                            .iter()
                            .map(|part| String::from_utf8_lossy(part).into_owned())
                            .collect::<String>()
                    })
                    .collect();
                if found.iter().any(|value| value.trim() == expected) {
                    VerifyOutcome::Verified
                } else if found.iter().any(|value| value.starts_with(TXT_PREFIX)) {
                    VerifyOutcome::NotYet(format!(
                        "{domain} has a roster-verification TXT record, but not this one; \
                         publish \"{expected}\""
                    ))
                } else {
                    VerifyOutcome::NotYet(format!(
                        "{domain} has TXT records, but none is \"{expected}\""
                    ))
                }
            }
            Err(err) => VerifyOutcome::NotYet(match err.kind() {
                ResolveErrorKind::Proto(proto) if proto.is_no_records_found() => format!(
                    "no TXT record found for {domain} yet; DNS changes can take a while to \
                     appear"
                ),
                _ => format!("the DNS lookup for {domain} failed: {err}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(
            EmailDomain::parse(" Example.COM. ").unwrap().as_str(),
            "example.com"
        );
        assert_eq!(
            EmailDomain::parse("bücher.example").unwrap().as_str(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "",
            "com",
            "a@b.com",
            "https://x.com",
            "1.2.3.4",
            "-a.com",
            "a..com",
            "a b.com",
        ] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subdomains_count_only_when_included() {
        let mut domain = TrustedDomain {
            id: Uuid::nil(),
            domain: EmailDomain::parse("acme.test").unwrap(),
            include_subdomains: false,
            verification_token: String::new(),
            verified: None,
            last_checked_at: None,
            last_check_error: None,
            created_at: Timestamp::from_micros(0),
        };
        assert!(domain.covers("acme.test"));
        assert!(!domain.covers("eu.acme.test"));
        domain.include_subdomains = true;
        assert!(domain.covers("eu.acme.test"));
        assert!(!domain.covers("notacme.test"));
    }
}
