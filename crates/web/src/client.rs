//! The address a request comes from, for sign-in throttling.
//!
//! It is the TCP peer's address, unless that peer is one of the operator's proxies
//! (`ROSTER_TRUSTED_PROXIES`): then `X-Forwarded-For` is read from the right — each
//! proxy appends the address it received the request from — skipping the trusted
//! proxies, and the first address that is not one of them is the client. Whatever a client
//! writes into the header itself sits to the left of that and is never believed. With no
//! trusted proxies (the default) the header is ignored altogether.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    /// A comma-separated list of networks (`10.0.0.0/8`) or addresses (`127.0.0.1`,
    /// meaning that one address). The error names the entry that is neither.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let network = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| entry.to_owned())?;
            networks.push(network);
        }
        Ok(Self(networks))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|network| network.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// IPv4-mapped IPv6 addresses (a dual-stack socket's view of IPv4 peers) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The client's address (see the module comment).
pub(crate) fn client_address(req: &HttpRequest, trusted: &TrustedProxies) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| {
            canonical(addr.ip())
        });
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all(X_FORWARDED_FOR)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !trusted.contains(client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = canonical(ip),
            // Garbage from a hop we trust ends the walk at that hop.
            None => break,
        }
    }
    client
}

/// An address as proxies write it: bare, bracketed IPv6, or with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|inner| inner.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn from(peer: &str, forwarded: &[&str], trusted: &str) -> IpAddr {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for value in forwarded {
            req = req.append_header(("X-Forwarded-For", *value));
        }
        client_address(
            &req.to_http_request(),
            &TrustedProxies::parse(trusted).unwrap(),
        )
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // No trusted proxies: the peer, whatever the header says.
        assert_eq!(
            from("203.0.113.9:5000", &["198.51.100.1"], ""),
            ip("203.0.113.9")
        );
        // A peer that is not trusted: the peer.
        assert_eq!(
            from("203.0.113.9:5000", &["198.51.100.1"], "10.0.0.0/8"),
            ip("203.0.113.9")
        );
        // Behind nginx: the address nginx appended.
        assert_eq!(
            from("10.0.0.2:5000", &["198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        // A client forging the header cannot choose its address: the rightmost untrusted
        // entry wins, and what the client wrote sits left of it.
        assert_eq!(
            from("10.0.0.2:5000", &["1.2.3.4, 198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        // Two proxies of ours, two headers.
        assert_eq!(
            from(
                "10.0.0.2:5000",
                &["1.2.3.4, 198.51.100.1", "10.0.0.3"],
                "10.0.0.0/8"
            ),
            ip("198.51.100.1")
        );
        // Garbage from a trusted hop stops at that hop.
        assert_eq!(
            from("10.0.0.2:5000", &["not-an-ip"], "10.0.0.0/8"),
            ip("10.0.0.2")
        );
        assert_eq!(
            from("127.0.0.1:5000", &["[2001:db8::1]:443"], "127.0.0.1"),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn the_setting_names_a_bad_entry() {
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, nginx").unwrap_err(),
            "nginx"
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("::1, 172.16.0.0/12").is_ok());
    }
}
