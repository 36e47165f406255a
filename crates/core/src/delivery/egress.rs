//! Where a webhook may go: the egress policy.
//!
//! Webhook URLs are chosen by tenant admins and called from the server, so they can aim
//! at what only the server reaches: the node itself, its private network, the cloud
//! metadata service. By default a webhook goes to public addresses only. Refused:
//!
//! - *private* destinations — loopback (127.0.0.0/8, ::1), RFC 1918 (10/8, 172.16/12,
//!   192.168/16), shared address space (CGNAT, 100.64/10), unique-local (fc00::/7),
//!   site-local (fec0::/10), and reserved ranges that are never a public receiver
//!   (192.0.0.0/24, 198.18.0.0/15, 240.0.0.0/4, 100::/64, 64:ff9b:1::/48). Any entry of
//!   the operator's allow-list (`ROSTER_WEBHOOK_ALLOWED_NETWORKS`) that contains the
//!   address opens it, for deployments whose product lives on a private network;
//! - *sensitive* destinations — "this network" (0.0.0.0/8: 0.0.0.0 reaches the host),
//!   link-local (169.254.0.0/16, fe80::/10: the metadata service at 169.254.169.254 hands
//!   out the node's credentials), the providers' other metadata addresses, unspecified,
//!   broadcast and multicast addresses. An allow-list entry opens one only when the entry
//!   lies *inside* the sensitive range (`169.254.169.254/32` does; `0.0.0.0/0`,
//!   `100.64.0.0/10` or `::/0` do not): a broad entry written for a private network
//!   must not hand out the node's cloud credentials by accident.
//!
//! IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`,
//! NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by that IPv4 address as
//! well, so `[::ffff:127.0.0.1]` is loopback.
//!
//! The check runs at three places: when an endpoint is saved (an address in the URL, or
//! `localhost`), before each request (a backstop for a URL written to the database some
//! other way), and in the DNS resolver of the webhook client, on every address a name
//! resolves to — the client connects only to the addresses that passed, so a name that
//! resolves, or later re-resolves, to a refused address is not called either.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What an admin reads when an endpoint's address is refused.
pub const REFUSED: &str = "must not point at a loopback, private, link-local, multicast or \
     cloud metadata address (the operator can allow a private network)";

/// Metadata services outside the link-local range.
const METADATA_V4: [Ipv4Addr; 1] = [
    // Alibaba Cloud
    Ipv4Addr::new(100, 100, 100, 200),
];
const METADATA_V6: [Ipv6Addr; 1] = [
    // AWS (IMDS over IPv6)
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
];

/// Why an address is refused by default: the range it falls in and whether that range
/// is sensitive (opened only by an allow-list entry inside it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Restriction {
    /// The address the range applies to (the embedded IPv4 address, for IPv6 forms that
    /// carry one).
    address: IpAddr,
    range: IpNet,
    sensitive: bool,
}

/// Where webhooks may go: public addresses, plus the operator's allowed networks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    allowed: Vec<IpNet>,
}

impl EgressPolicy {
    /// Public destinations only (the default).
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Public destinations and these networks (see the module's notes on sensitive
    /// ranges).
    pub fn allowing(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            allowed: networks.into_iter().map(|net| net.trunc()).collect(),
        }
    }

    /// Parses an allow-list: CIDR networks or single addresses, separated by commas or
    /// white space (`10.20.0.0/16, 192.168.5.7, fd12::/64`). The error names the entry.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allowed = Vec::new();
        for entry in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
        {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "\"{entry}\" is not a network (write 10.20.0.0/16, 192.168.5.7 or fd12::/64)"
                    )
                })?;
            allowed.push(net);
        }
        Ok(Self::allowing(allowed))
    }

    /// The allowed networks.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether a webhook request may go to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        restrictions(ip)
            .into_iter()
            .flatten()
            .all(|restriction| self.allowed.iter().any(|net| opens(net, &restriction, ip)))
    }

    /// Whether `url`'s host may be called, as far as the URL alone tells: an address
    /// literal is judged here, and `localhost` (which always means loopback) too. Other
    /// names are judged when they are resolved ([`GuardedResolver`]). For the endpoint
    /// form, where an inline error is worth more than a request that fails later.
    pub fn allows_url(&self, url: &url::Url) -> bool {
        match url.host() {
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    self.allows(IpAddr::V4(Ipv4Addr::LOCALHOST))
                        || self.allows(IpAddr::V6(Ipv6Addr::LOCALHOST))
                } else {
                    true
                }
            }
            _ => self.allows_address_literal(url),
        }
    }

    /// Whether `url`'s host, when it is an address literal, may be called (a name is
    /// left to the resolver, which judges every address it resolves to). Before each
    /// request: the client does not resolve address literals, so this is their check.
    pub fn allows_address_literal(&self, url: &url::Url) -> bool {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.allows(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.allows(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => true,
            None => false,
        }
    }
}

/// Whether allow-list entry `net` lifts `restriction` of `ip`.
fn opens(net: &IpNet, restriction: &Restriction, ip: IpAddr) -> bool {
    let covers = net.contains(&restriction.address) || net.contains(&ip);
    covers && (!restriction.sensitive || restriction.range.contains(net))
}

/// The restrictions on `ip`: its own range's, and its embedded IPv4 address's.
fn restrictions(ip: IpAddr) -> [Option<Restriction>; 2] {
    match ip {
        IpAddr::V4(v4) => [restriction_v4(v4), None],
        IpAddr::V6(v6) => [restriction_v6(v6), embedded_v4(v6).and_then(restriction_v4)],
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix))
}

fn v6(segments: [u16; 8], prefix: u8) -> IpNet {
    let [a, b, c, d, e, f, g, h] = segments;
    IpNet::V6(Ipv6Net::new_assert(
        Ipv6Addr::new(a, b, c, d, e, f, g, h),
        prefix,
    ))
}

fn restriction_v4(ip: Ipv4Addr) -> Option<Restriction> {
    let sensitive = [
        v4(0, 0, 0, 0, 8),
        v4(169, 254, 0, 0, 16),
        v4(224, 0, 0, 0, 4),
        v4(255, 255, 255, 255, 32),
    ]
    .into_iter()
    .chain(METADATA_V4.map(|ip| IpNet::V4(Ipv4Net::from(ip))));
    let private = [
        v4(127, 0, 0, 0, 8),
        v4(10, 0, 0, 0, 8),
        v4(172, 16, 0, 0, 12),
        v4(192, 168, 0, 0, 16),
        v4(100, 64, 0, 0, 10),
        v4(192, 0, 0, 0, 24),
        v4(198, 18, 0, 0, 15),
        v4(240, 0, 0, 0, 4),
    ];
    classify(IpAddr::V4(ip), sensitive, private)
}

fn restriction_v6(ip: Ipv6Addr) -> Option<Restriction> {
    let sensitive = [
        v6([0; 8], 128),
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
    ]
    .into_iter()
    .chain(METADATA_V6.map(|ip| IpNet::V6(Ipv6Net::from(ip))));
    let private = [
        v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        v6([0x0100, 0, 0, 0, 0, 0, 0, 0], 64),
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
    ];
    classify(IpAddr::V6(ip), sensitive, private)
}

fn classify(
    address: IpAddr,
    sensitive: impl IntoIterator<Item = IpNet>,
    private: impl IntoIterator<Item = IpNet>,
) -> Option<Restriction> {
    let found = |sensitive: bool| {
        move |range: IpNet| {
            range.contains(&address).then_some(Restriction {
                address,
                range,
                sensitive,
            })
        }
    };
    sensitive
        .into_iter()
        .find_map(found(true))
        .or_else(|| private.into_iter().find_map(found(false)))
}

/// The IPv4 address an IPv6 address carries, where traffic to it may reach that IPv4
/// address: mapped, compatible, NAT64 (the well-known prefix) and 6to4.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped);
    }
    // ::a.b.c.d (deprecated "compatible"), except :: and ::1, which are IPv6's own.
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return Some(low);
    }
    // 64:ff9b::/96 (RFC 6052; the local-use 64:ff9b:1::/48 is private as a whole).
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    // 2002:aabb:ccdd::/48 (6to4).
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// The error of a name that resolved only to refused addresses.
#[derive(Debug)]
pub(crate) struct RefusedAddress;

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the endpoint's address is loopback, private, link-local, multicast or a cloud \
             metadata service; webhooks are not sent there unless the operator allows its network",
        )
    }
}

impl std::error::Error for RefusedAddress {}

/// The webhook client's resolver: the system's, without the addresses the policy
/// refuses.
#[derive(Debug, Default)]
pub(crate) struct GuardedResolver {
    policy: Arc<EgressPolicy>,
}

impl GuardedResolver {
    pub(crate) fn new(policy: Arc<EgressPolicy>) -> Self {
        Self { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy.clone();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let found = resolved.len();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| policy.allows(addr.ip()))
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

    fn refused_by(policy: &EgressPolicy, text: &str) -> bool {
        !policy.allows(text.parse().unwrap())
    }

    const SENSITIVE: [&str; 17] = [
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
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
    ];

    const PRIVATE: [&str; 24] = [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.5",
        "172.16.3.4",
        "172.31.255.255",
        "192.168.1.10",
        "100.64.0.1",
        "100.127.255.254",
        "192.0.0.170",
        "198.18.0.1",
        "240.0.0.1",
        "::1",
        "fd00::1",
        "fc00::1",
        "fec0::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "::ffff:192.168.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1",
        "64:ff9b:1::1",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
    ];

    const PUBLIC: [&str; 8] = [
        "93.184.215.14",
        "8.8.8.8",
        "100.128.0.1",
        "172.32.0.1",
        "2001:db8::1",
        "2606:4700::1111",
        "::ffff:93.184.215.14",
        "64:ff9b::808:808",
    ];

    #[test]
    fn by_default_only_public_addresses_are_allowed() {
        let policy = EgressPolicy::public_only();
        for ip in SENSITIVE.iter().chain(&PRIVATE) {
            assert!(refused_by(&policy, ip), "{ip} must be refused");
        }
        for ip in PUBLIC {
            assert!(!refused_by(&policy, ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn the_allow_list_opens_private_networks_but_not_sensitive_ones() {
        let policy = EgressPolicy::parse("10.0.0.0/8, 127.0.0.1 fd00::/8").unwrap();
        for ip in [
            "10.1.2.3",
            "127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:127.0.0.1",
            "fd12::1",
        ] {
            assert!(!refused_by(&policy, ip), "{ip} is allowed");
        }
        for ip in ["127.0.0.2", "::1", "192.168.1.1", "fc00::1"] {
            assert!(refused_by(&policy, ip), "{ip} is not in the list");
        }
        // fd00:ec2::254 is inside fd00::/8, but sensitive: the entry is broader.
        assert!(refused_by(&policy, "fd00:ec2::254"));

        // Allowing everything still leaves the sensitive ranges closed.
        let everything = EgressPolicy::parse("0.0.0.0/0, ::/0").unwrap();
        for ip in PRIVATE.iter().chain(&PUBLIC) {
            assert!(!refused_by(&everything, ip), "{ip} is allowed");
        }
        for ip in SENSITIVE {
            assert!(refused_by(&everything, ip), "{ip} stays refused");
        }
        let cgnat = EgressPolicy::parse("100.64.0.0/10").unwrap();
        assert!(!refused_by(&cgnat, "100.100.100.201"));
        assert!(
            refused_by(&cgnat, "100.100.100.200"),
            "metadata inside CGNAT"
        );

        // Listed explicitly, inside the sensitive range, it is opened.
        let metadata = EgressPolicy::parse("169.254.169.254/32").unwrap();
        assert!(!refused_by(&metadata, "169.254.169.254"));
        assert!(!refused_by(&metadata, "::ffff:169.254.169.254"));
        assert!(refused_by(&metadata, "169.254.169.253"));
    }

    #[test]
    fn allow_lists_are_parsed_strictly() {
        assert_eq!(EgressPolicy::parse("").unwrap(), EgressPolicy::default());
        assert_eq!(EgressPolicy::parse(" , ").unwrap().allowed().len(), 0);
        let policy = EgressPolicy::parse("10.1.2.3/8,192.168.5.7").unwrap();
        assert_eq!(
            policy.allowed(),
            &[
                "10.0.0.0/8".parse().unwrap(),
                "192.168.5.7/32".parse().unwrap()
            ]
        );
        for bad in ["10.0.0.0/33", "example.com", "10.0.0", "*"] {
            let err = EgressPolicy::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn urls_are_judged_by_their_address_literal_or_localhost() {
        let policy = EgressPolicy::public_only();
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]:8080/hook",
            "https://[::ffff:169.254.169.254]/",
            "http://0.0.0.0:9000/",
            "http://127.0.0.1:8080/hook",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "http://10.0.0.5/",
            // The URL parser normalises these to 127.0.0.1.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://api.localhost/",
        ] {
            assert!(!policy.allows_url(&url::Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "https://hooks.example.com/roster",
            "https://93.184.215.14/",
            "http://localhost.example.com/",
        ] {
            assert!(policy.allows_url(&url::Url::parse(url).unwrap()), "{url}");
        }
        let loopback = EgressPolicy::parse("127.0.0.0/8").unwrap();
        assert!(loopback.allows_url(&url::Url::parse("http://localhost:8080/").unwrap()));
        assert!(!loopback.allows_url(&url::Url::parse("http://[::1]:8080/").unwrap()));
        // Before each request only literals are judged; names go to the resolver.
        let localhost = url::Url::parse("http://localhost:8080/").unwrap();
        assert!(policy.allows_address_literal(&localhost));
        assert!(!policy.allows_address_literal(&url::Url::parse("http://[::1]/").unwrap()));
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses_and_fails_when_none_is_left() {
        let resolver = GuardedResolver::default();
        for name in ["169.254.169.254", "127.0.0.1", "localhost"] {
            let err = resolver
                .resolve(reqwest::dns::Name::from_str(name).unwrap())
                .await
                .err()
                .unwrap();
            assert!(err.downcast_ref::<RefusedAddress>().is_some(), "{err}");
        }

        let allowing = GuardedResolver::new(Arc::new(EgressPolicy::parse("127.0.0.1").unwrap()));
        let addrs: Vec<SocketAddr> = allowing
            .resolve(reqwest::dns::Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 0))]);
    }
}
