//! The client's address for login tracking: the TCP peer, or — behind a configured number of
//! trusted proxies (`SECURITY_TRUSTED_PROXIES`, like Werkzeug's `ProxyFix(x_for=N)`) — the
//! address that the outermost trusted proxy saw, taken from `X-Forwarded-For`. Without trusted
//! proxies the header is ignored, so a client cannot forge its recorded address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};

/// The client address of a request, if known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// Computes the address from the peer and `X-Forwarded-For`.
    pub fn of(req: &Request, trusted_proxies: usize) -> Self {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if trusted_proxies == 0 {
            return Self(peer);
        }
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let chosen = forwarded
            .len()
            .checked_sub(trusted_proxies)
            .and_then(|i| forwarded.get(i))
            .and_then(|s| s.parse().ok());
        Self(chosen.or(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(xff: Option<&str>) -> Request {
        let mut b = Request::builder().uri("/");
        if let Some(x) = xff {
            b = b.header("x-forwarded-for", x);
        }
        let mut r = b.body(Body::empty()).unwrap_or_default();
        r.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 5000))));
        r
    }

    #[test]
    fn forwarded_for_only_behind_trusted_proxies() {
        let peer = Some(IpAddr::from([10, 0, 0, 1]));
        assert_eq!(ClientAddr::of(&req(Some("6.6.6.6")), 0).0, peer);
        assert_eq!(
            ClientAddr::of(&req(Some("6.6.6.6, 192.0.2.7")), 1).0,
            Some(IpAddr::from([192, 0, 2, 7]))
        );
        assert_eq!(
            ClientAddr::of(&req(Some("6.6.6.6, 192.0.2.7")), 2).0,
            Some(IpAddr::from([6, 6, 6, 6]))
        );
        assert_eq!(ClientAddr::of(&req(Some("192.0.2.7")), 2).0, peer);
        assert_eq!(ClientAddr::of(&req(Some("garbage")), 1).0, peer);
        assert_eq!(ClientAddr::of(&req(None), 1).0, peer);
    }
}
