//! Open-redirect protection of `next` (Flask-Security's `validate_redirect_url`): only relative
//! URLs and absolute http(s) URLs to the request's own host are accepted, or to the hosts the
//! [`RedirectPolicy`] allows (`SECURITY_REDIRECT_ALLOW_SUBDOMAINS` with `SERVER_NAME`,
//! `SECURITY_REDIRECT_BASE_DOMAIN` with `SECURITY_REDIRECT_ALLOWED_SUBDOMAINS`); the final
//! `Location` is re-quoted so that what the browser sees is what was validated.

/// Which other hosts `next` may point to besides the request's own host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedirectPolicy {
    /// `SERVER_NAME` (Flask's key): the application's host name, optionally with a port.
    pub server_name: Option<String>,
    /// `SECURITY_REDIRECT_ALLOW_SUBDOMAINS`: allow `SERVER_NAME` and any `*.SERVER_NAME`.
    pub allow_subdomains: bool,
    /// `SECURITY_REDIRECT_BASE_DOMAIN`: the base of the explicit allow-list.
    pub base_domain: Option<String>,
    /// `SECURITY_REDIRECT_ALLOWED_SUBDOMAINS`: `<sub>.<base>` hosts allowed; `"."` is the bare
    /// base domain.
    pub allowed_subdomains: Vec<String>,
}

impl RedirectPolicy {
    /// Whether an absolute URL's host (already IDNA-normalised and lowercase, as the WHATWG
    /// parser gives it) is allowed by the options.
    fn allows_host(&self, url_host: &str) -> bool {
        let name_of = |s: &str| split_host(s).0.trim_end_matches('.').to_ascii_lowercase();
        if self.allow_subdomains
            && let Some(server) = self.server_name.as_deref().map(name_of)
            && !server.is_empty()
            && (url_host == server || url_host.ends_with(&format!(".{server}")))
        {
            return true;
        }
        if let Some(base) = self.base_domain.as_deref().map(name_of)
            && !base.is_empty()
        {
            return self.allowed_subdomains.iter().any(|sub| {
                let sub = sub.trim().to_ascii_lowercase();
                if sub == "." {
                    url_host == base
                } else {
                    !sub.is_empty() && url_host == format!("{sub}.{base}")
                }
            });
        }
        false
    }
}

/// Whether `next` may be redirected to from a request to `host` (the `Host` header, with or
/// without port), with no extra hosts allowed.
///
/// Besides Flask-Security's rules (checked on the raw value and with `\` read as `/`), the
/// value is also checked once percent-decoded with tabs and newlines removed — what a browser
/// or a decoding proxy may make of it — so `/%2F%2Fevil.com` and `/%09/evil.com` are refused
/// too (a deliberate tightening). An absolute URL with an explicit port must name the
/// request's port (Flask-Security compares host and port too).
pub fn is_safe(next: &str, host: Option<&str>) -> bool {
    is_safe_with(next, host, &RedirectPolicy::default())
}

/// [`is_safe`] with the hosts a [`RedirectPolicy`] allows.
pub fn is_safe_with(next: &str, host: Option<&str>, policy: &RedirectPolicy) -> bool {
    if next.is_empty() || next.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let decoded: String = percent_decode(next)
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    [
        next.to_owned(),
        next.replace('\\', "/"),
        decoded.replace('\\', "/"),
    ]
    .iter()
    .all(|candidate| structurally_safe(candidate, host, policy))
}

/// `host[:port]` split into the name (IPv6 literals keep their brackets) and the port.
fn split_host(h: &str) -> (&str, Option<u16>) {
    if h.starts_with('[') {
        return match h.split_once(']') {
            Some((addr, rest)) => (
                &h[..=addr.len()],
                rest.strip_prefix(':').and_then(|p| p.parse().ok()),
            ),
            None => (h, None),
        };
    }
    match h.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().ok()),
        _ => (h, None),
    }
}

fn structurally_safe(candidate: &str, host: Option<&str>, policy: &RedirectPolicy) -> bool {
    if candidate.starts_with("//") {
        return false;
    }
    match url::Url::parse(candidate) {
        Ok(url) => {
            if !matches!(url.scheme(), "http" | "https") {
                return false;
            }
            let Some(url_host) = url.host_str() else {
                return false;
            };
            if !url.username().is_empty() || url.password().is_some() {
                return false;
            }
            let same_host = host.is_some_and(|h| {
                let (name, port) = split_host(h);
                name.eq_ignore_ascii_case(url_host) && url.port().is_none_or(|p| port == Some(p))
            });
            same_host || (url.port().is_none() && policy.allows_host(url_host))
        }
        // `evil.com/x` or `javascript%3A…` style values: only absolute paths.
        Err(url::ParseError::RelativeUrlWithoutBase) => candidate.starts_with('/'),
        Err(_) => false,
    }
}

/// Whether `next` is allowed for a request with these headers under the application's
/// configured [`RedirectPolicy`].
pub(crate) fn allowed(
    sec: &crate::security::Security,
    headers: &axum::http::HeaderMap,
    next: &str,
) -> bool {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    is_safe_with(next, host, &sec.config().redirect)
}

/// Decodes `%XX` sequences once (invalid sequences are kept as they are; bytes that are not
/// UTF-8 become U+FFFD).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Re-quotes a validated relative or same-host URL for the `Location` header: every byte
/// outside the URL-safe set is percent-encoded (so `\\evil.com` becomes `%5C%5Cevil.com`).
pub fn quote_location(next: &str) -> String {
    percent_encode(next, b"/-_.~:?=&%#+,;@!$'()*")
}

/// Percent-encodes a relative URL as the value of a `next` query parameter, keeping `/`
/// readable as Werkzeug's `url_quote` does: `/protected?x=1` → `/protected%3Fx%3D1`.
pub fn quote_next(next: &str) -> String {
    percent_encode(next, b"/-_.~")
}

/// Percent-encodes every byte that is not ASCII alphanumeric or in `keep`.
fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_cases() {
        let host = Some("localhost:8000");
        for ok in ["/dashboard?x=1", "http://localhost/ok", "/"] {
            assert!(is_safe(ok, host), "{ok}");
        }
        for bad in [
            "http://evil.com/",
            "//evil.com",
            "///evil.com",
            "javascript:alert(1)",
            "http://sub.localhost/",
            "\\\\evil.com",
            "/\\evil.com",
            "http:evil.com",
            "https:/evil.com",
            "data:text/html,x",
            "evil.com",
            "/a\tb",
            "",
            "http://localhost@evil.com/",
        ] {
            assert!(!is_safe(bad, host), "{bad}");
        }
        assert_eq!(quote_location("/a b"), "/a%20b");
        // An explicit port must be the request's.
        assert!(is_safe("http://localhost:8000/x", host));
        assert!(!is_safe("http://localhost:8443/x", host));
        assert!(!is_safe("http://localhost:8000/x", Some("localhost")));
        assert!(is_safe("http://[::1]:8000/x", Some("[::1]:8000")));
        assert!(!is_safe("http://[::1]:9/x", Some("[::1]:8000")));
    }

    fn subdomains() -> RedirectPolicy {
        RedirectPolicy {
            server_name: Some("app.example.com:8000".into()),
            allow_subdomains: true,
            ..RedirectPolicy::default()
        }
    }

    fn base_domain(subs: &[&str]) -> RedirectPolicy {
        RedirectPolicy {
            base_domain: Some("example.com".into()),
            allowed_subdomains: subs.iter().map(|s| (*s).to_owned()).collect(),
            ..RedirectPolicy::default()
        }
    }

    #[test]
    fn allow_subdomains_of_server_name() {
        let host = Some("app.example.com:8000");
        let p = subdomains();
        for ok in [
            "https://app.example.com/x",
            "https://api.app.example.com/x",
            "https://a.b.app.example.com/",
            "https://API.App.Example.com/",
        ] {
            assert!(is_safe_with(ok, host, &p), "{ok}");
            // Off by default.
            if !ok.starts_with("https://app.") {
                assert!(!is_safe(ok, host), "{ok}");
            }
        }
        for bad in [
            "https://evilapp.example.com/",
            "https://app.example.com.evil.com/",
            "https://sub.app.example.com.evil.com/",
            "https://app.example.com@evil.com/",
            "https://x.app.example.com@evil.com/",
            "https://evil.com/?.app.example.com",
            "https://evil.com/#.app.example.com",
            "https://evil.com\\.app.example.com",
            "//x.app.example.com",
            "https://x.app.example.com:9999/",
            "https://x.\u{430}pp.example.com/",
            "javascript://x.app.example.com/%0aalert(1)",
        ] {
            assert!(!is_safe_with(bad, host, &p), "{bad}");
        }
        // Without SERVER_NAME the option allows nothing more.
        let none = RedirectPolicy {
            allow_subdomains: true,
            ..RedirectPolicy::default()
        };
        assert!(!is_safe_with("https://x.app.example.com/", host, &none));
    }

    #[test]
    fn base_domain_allow_list() {
        let host = Some("app.example.com");
        let p = base_domain(&["api", "."]);
        for ok in ["https://api.example.com/x", "https://example.com/", "/rel"] {
            assert!(is_safe_with(ok, host, &p), "{ok}");
        }
        for bad in [
            "https://www.example.com/",
            "https://x.api.example.com/",
            "https://apiexample.com/",
            "https://api.example.com.evil.com/",
            "https://api.example.com@evil.com/",
            "https://evil.com/.api.example.com",
        ] {
            assert!(!is_safe_with(bad, host, &p), "{bad}");
        }
        // No "." entry: the bare base domain is not allowed.
        assert!(!is_safe_with(
            "https://example.com/",
            host,
            &base_domain(&["api"])
        ));
        assert!(!is_safe_with(
            "https://api.example.com/",
            host,
            &base_domain(&[])
        ));
    }
}
