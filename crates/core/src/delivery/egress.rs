//! Where a webhook may never go, whatever the operator's network looks like.
//!
//! Webhook URLs are chosen by tenant admins and called from the server, so they can aim
//! at what only the server reaches. The product behind Roster often lives on a private
//! network or on the same host, so private and loopback addresses stay allowed (the
//! operator restricts those with an egress firewall, see docs/operations.md). What is
//! refused everywhere is what no receiver legitimately is and what an attacker wants
//! most: link-local addresses (cloud metadata services at 169.254.169.254 hand out the
//! node's credentials), the providers' other metadata addresses, unspecified, broadcast
//! and multicast addresses.
//!
//! The check runs at three places: when an endpoint is saved (an address in the URL;
//! the admin form and the CLI both parse through `EndpointForm`), before each request
//! (a backstop for a URL written to the database some other way), and in the DNS
//! resolver of the webhook client, on every address a name resolves to — so a name
//! that resolves, or later re-resolves, to a refused address is not called either.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What an admin reads when an endpoint's address is refused.
pub const REFUSED: &str = "must not point at a link-local, multicast or cloud metadata address";

/// Metadata services outside the link-local range.
const METADATA_V4: [Ipv4Addr; 1] = [
    // Alibaba Cloud
    Ipv4Addr::new(100, 100, 100, 200),
];
const METADATA_V6: [Ipv6Addr; 1] = [
    // AWS (IMDS over IPv6)
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
];

/// Whether a webhook request may never go to `ip`.
pub fn is_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refused_v4(v4),
            None => {
                v6.is_unspecified()
                    || v6.is_multicast()
                    // fe80::/10
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
                    || METADATA_V6.contains(&v6)
            }
        },
    }
}

fn refused_v4(ip: Ipv4Addr) -> bool {
    // 0.0.0.0/8 is "this network": on Linux 0.0.0.0 reaches the host itself.
    ip.octets()[0] == 0
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || METADATA_V4.contains(&ip)
}

/// Whether `url`'s host is an address literal that [`is_refused`]. Names are checked when
/// they are resolved ([`GuardedResolver`]).
pub fn url_is_refused(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_refused(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_refused(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) | None => false,
    }
}

/// The error of a name that resolved only to refused addresses.
#[derive(Debug)]
pub(crate) struct RefusedAddress;

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the endpoint's address is link-local, multicast or a cloud metadata service; webhooks are not sent there",
        )
    }
}

impl std::error::Error for RefusedAddress {}

/// The webhook client's resolver: the system's, without the refused addresses.
#[derive(Debug, Default)]
pub(crate) struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let found = resolved.len();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| !is_refused(addr.ip()))
                .collect();
            if allowed.is_empty() && found > 0 {
                return Err(Box::new(RefusedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use reqwest::dns::Resolve;

    use super::*;

    fn refused(text: &str) -> bool {
        is_refused(text.parse().unwrap())
    }

    #[test]
    fn metadata_link_local_and_special_addresses_are_refused() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn private_loopback_and_public_addresses_are_allowed() {
        for ip in [
            "127.0.0.1",
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.10",
            "100.100.100.201",
            "93.184.215.14",
            "::1",
            "fd00::1",
            "fec0::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!refused(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn urls_with_refused_address_literals_are_refused() {
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]:8080/hook",
            "https://[::ffff:169.254.169.254]/",
            "http://0.0.0.0:9000/",
        ] {
            assert!(url_is_refused(&url::Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.com/roster",
            "http://[::1]/",
        ] {
            assert!(!url_is_refused(&url::Url::parse(url).unwrap()), "{url}");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses_and_fails_when_none_is_left() {
        let resolver = GuardedResolver;
        let err = resolver
            .resolve(reqwest::dns::Name::from_str("169.254.169.254").unwrap())
            .await
            .err()
            .unwrap();
        assert!(err.downcast_ref::<RefusedAddress>().is_some(), "{err}");

        let addrs: Vec<SocketAddr> = resolver
            .resolve(reqwest::dns::Name::from_str("127.0.0.1").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 0))]);
    }
}
