//! The client's address: the one rule every per-address limit uses (the login throttle, the
//! 连心卡's page). Behind a reverse proxy every connection comes from the proxy, so the
//! address is taken from `X-Forwarded-For` — but only when the connection comes from a proxy
//! the operator listed (`[server] trusted_proxies`), and then the rightmost address in the
//! header that is not itself a trusted proxy (the one the last trusted proxy saw; what a
//! client wrote to the left of it is not believed). From any other peer the header is
//! ignored, so a forged one changes nothing. No list (the default): the peer's address.
//! A limit counts an IPv6 client by its /64 ([`limit_key`]): one subscriber's network, any
//! address of which the client may pick.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;

/// An address or a network (`10.0.0.7`, `10.0.0.0/8`, `::1`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

/// Why a trusted proxy entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or network (e.g. 10.0.0.7 or 10.0.0.0/8)")]
pub struct NetworkError(String);

impl FromStr for Network {
    type Err = NetworkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || NetworkError(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Network { addr, prefix })
    }
}

impl TryFrom<String> for Network {
    type Error = NetworkError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Network {
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(v4) => u128::from(u32::from(v4)),
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        let ip = ip.to_canonical();
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let width = if ip.is_ipv4() { 32 } else { 128 };
        let shift = width - u32::from(self.prefix);
        if shift >= 128 {
            return true;
        }
        (bits(ip) >> shift) == (bits(self.addr) >> shift)
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// These proxies.
    pub fn new(networks: Vec<Network>) -> TrustedProxies {
        TrustedProxies(networks)
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(|p| p.to_canonical())?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        // Every hop to the right of the client was appended by a trusted proxy; the first
        // untrusted one from the right is the client as the last trusted proxy saw it.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Not an address ("unknown", garbage): the nearest trusted hop answers for it.
                return Some(client);
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]` or `[::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = SocketAddr::from_str(hop) {
        return Some(sock.ip().to_canonical());
    }
    let inner = hop.strip_prefix('[')?.strip_suffix(']')?;
    IpAddr::from_str(inner).ok().map(|ip| ip.to_canonical())
}

/// The key a per-address limit counts `ip` under (`addr:…`): an IPv4 address itself, an IPv6
/// address by its /64 prefix, since one subscriber gets a whole /64 and picks any address in
/// it; `None` (no address known) is one key of its own.
pub fn limit_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("addr:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let net = std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1));
            format!("addr:{net}/64")
        }
        None => "addr:unknown".to_string(),
    }
}

/// The client's address ([`TrustedProxies::client`]), when the server was started with
/// connect info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(
            state.trusted_proxies().client(peer, &parts.headers),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_counts_an_ipv6_client_by_its_64_and_an_ipv4_one_by_its_address() {
        let key = |s: &str| limit_key(Some(IpAddr::from_str(s).expect("an address")));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:1:2:3"));
        assert_eq!(key("2001:db8:1:2::1"), "addr:2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("10.0.0.1"), "addr:10.0.0.1");
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
        assert_eq!(
            key("::ffff:10.0.0.1"),
            key("10.0.0.1"),
            "a mapped IPv4 address"
        );
        assert_eq!(limit_key(None), "addr:unknown");
    }

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().expect("a header value"));
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("an address"))
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().expect("a network")).collect())
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.0.0.7"), &headers(&["203.0.113.9"])),
            ip("10.0.0.7")
        );
        let other = proxies(&["10.0.0.1"]);
        assert_eq!(
            other.client(ip("10.0.0.7"), &headers(&["203.0.113.9"])),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "::1"]);
        let via = ip("10.0.0.1");
        assert_eq!(p.client(via, &headers(&["203.0.113.9"])), ip("203.0.113.9"));
        assert_eq!(
            p.client(via, &headers(&["1.1.1.1, 203.0.113.9, 10.0.0.2"])),
            ip("203.0.113.9"),
            "what the client wrote on the left is not believed; trusted hops are skipped"
        );
        assert_eq!(
            p.client(via, &headers(&["1.1.1.1", "203.0.113.9:4711"])),
            ip("203.0.113.9"),
            "several headers in order; a port is dropped"
        );
        assert_eq!(
            p.client(ip("::1"), &headers(&["[2001:db8::1]:80"])),
            ip("2001:db8::1")
        );
        assert_eq!(
            p.client(via, &headers(&[])),
            via,
            "no header: the proxy itself"
        );
        assert_eq!(
            p.client(via, &headers(&["203.0.113.9, unknown"])),
            via,
            "an entry that is no address stops at the nearest trusted hop"
        );
        assert_eq!(p.client(via, &headers(&["10.0.0.3"])), ip("10.0.0.3"));
    }

    #[test]
    fn networks_parse_with_or_without_a_prefix_and_match_mapped_addresses() {
        let n: Network = "192.168.0.0/16".parse().expect("valid");
        assert!(n.contains("192.168.4.5".parse().expect("ip")));
        assert!(n.contains("::ffff:192.168.4.5".parse().expect("ip")));
        assert!(!n.contains("192.169.0.1".parse().expect("ip")));
        let all: Network = "0.0.0.0/0".parse().expect("valid");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        for bad in ["10.0.0.0/33", "proxy", "10.0.0.1/x", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }
}
