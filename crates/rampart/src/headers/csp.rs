//! A typed Content-Security-Policy: directives and their sources, the directives that get the
//! request's nonce, report-only mode and the report endpoints.

/// The source a directive gets for the request's nonce; `{nonce}` is replaced per request.
pub const NONCE: &str = "'nonce-{nonce}'";

/// A Content-Security-Policy.
///
/// # Example
/// ```
/// use rampart::headers::ContentSecurityPolicy;
///
/// let csp = ContentSecurityPolicy::new()
///     .directive("default-src", ["'self'"])
///     .directive("img-src", ["'self'", "https://cdn.example.com"])
///     .nonce_in(["script-src"])
///     .report_uri("/csp-report");
/// assert_eq!(
///     csp.render("abc"),
///     "default-src 'self'; img-src 'self' https://cdn.example.com; script-src 'nonce-abc'; \
///      report-uri /csp-report"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[must_use]
pub struct ContentSecurityPolicy {
    directives: Vec<(String, Vec<String>)>,
    nonce_in: Vec<String>,
    report_uri: Option<String>,
    report_to: Option<String>,
    /// Send as `Content-Security-Policy-Report-Only`: violations are reported, not blocked.
    pub report_only: bool,
}

impl ContentSecurityPolicy {
    /// An empty policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rampart's strict default: `default-src 'self'`, nonces for scripts and styles,
    /// `object-src 'none'`, `base-uri 'self'`, `form-action 'self'`,
    /// `frame-ancestors 'none'`, images also from `data:`.
    pub fn strict() -> Self {
        Self::new()
            .directive("default-src", ["'self'"])
            .directive("script-src", ["'self'"])
            .directive("style-src", ["'self'"])
            .directive("img-src", ["'self'", "data:"])
            .directive("object-src", ["'none'"])
            .directive("base-uri", ["'self'"])
            .directive("form-action", ["'self'"])
            .directive("frame-ancestors", ["'none'"])
            .nonce_in(["script-src", "style-src"])
    }

    /// Sets (or replaces) a directive's sources.
    pub fn directive<I, S>(mut self, name: &str, sources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let name = name.trim().to_ascii_lowercase();
        let sources: Vec<String> = sources.into_iter().map(Into::into).collect();
        match self.directives.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = sources,
            None => self.directives.push((name, sources)),
        }
        self
    }

    /// Removes a directive.
    pub fn without(mut self, name: &str) -> Self {
        self.directives
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// The directives that get the request's nonce (created when missing).
    pub fn nonce_in<I, S>(mut self, directives: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.nonce_in = directives
            .into_iter()
            .map(|d| d.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// `report-uri`: where browsers post violation reports.
    pub fn report_uri(mut self, uri: impl Into<String>) -> Self {
        self.report_uri = Some(uri.into());
        self
    }

    /// `report-to`: the Reporting API group name.
    pub fn report_to(mut self, group: impl Into<String>) -> Self {
        self.report_to = Some(group.into());
        self
    }

    /// Report-only mode.
    pub fn with_report_only(mut self, on: bool) -> Self {
        self.report_only = on;
        self
    }

    /// The sources of a directive, if set.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.directives
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| s.as_slice())
    }

    /// The header value with `{nonce}` placeholders (see [`NONCE`]).
    pub fn template(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (name, sources) in &self.directives {
            let mut s: Vec<&str> = sources.iter().map(String::as_str).collect();
            if self.nonce_in.contains(name) && !s.contains(&NONCE) {
                s.push(NONCE);
            }
            parts.push(if s.is_empty() {
                name.clone()
            } else {
                format!("{name} {}", s.join(" "))
            });
        }
        for name in &self.nonce_in {
            if !self.directives.iter().any(|(n, _)| n == name) {
                parts.push(format!("{name} {NONCE}"));
            }
        }
        if let Some(u) = &self.report_uri {
            parts.push(format!("report-uri {u}"));
        }
        if let Some(g) = &self.report_to {
            parts.push(format!("report-to {g}"));
        }
        parts.join("; ")
    }

    /// The header value for a response that uses no nonce: every nonce source is left out,
    /// and a directive that had only the nonce becomes `'none'`. Stricter than any nonce
    /// version of the policy, so it is what a response gets when its handler never asked for
    /// the nonce ([`CspNonce`](super::CspNonce)).
    pub fn without_nonce(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (name, sources) in &self.directives {
            let s: Vec<&str> = sources
                .iter()
                .map(String::as_str)
                .filter(|s| *s != NONCE)
                .collect();
            let had_nonce = self.nonce_in.contains(name) || s.len() < sources.len();
            parts.push(match (s.is_empty(), had_nonce) {
                (true, true) => format!("{name} 'none'"),
                (true, false) => name.clone(),
                (false, _) => format!("{name} {}", s.join(" ")),
            });
        }
        for name in &self.nonce_in {
            if !self.directives.iter().any(|(n, _)| n == name) {
                parts.push(format!("{name} 'none'"));
            }
        }
        if let Some(u) = &self.report_uri {
            parts.push(format!("report-uri {u}"));
        }
        if let Some(g) = &self.report_to {
            parts.push(format!("report-to {g}"));
        }
        parts.join("; ")
    }

    /// The header value for one request's nonce.
    pub fn render(&self, nonce: &str) -> String {
        self.template().replace("{nonce}", nonce)
    }

    /// Whether the policy is sent as report-only.
    pub fn is_report_only(&self) -> bool {
        self.report_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_default_renders_the_nonce() {
        let v = ContentSecurityPolicy::strict().render("N");
        assert_eq!(
            v,
            "default-src 'self'; script-src 'self' 'nonce-N'; style-src 'self' 'nonce-N'; \
             img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
             frame-ancestors 'none'"
        );
        let p = ContentSecurityPolicy::strict()
            .directive("frame-ancestors", ["'self'"])
            .without("form-action")
            .report_to("csp");
        let v = p.render("N");
        assert!(v.contains("frame-ancestors 'self'") && !v.contains("form-action"));
        assert!(v.ends_with("report-to csp"));
    }

    #[test]
    fn without_nonce_is_the_policy_minus_its_nonce_sources() {
        assert_eq!(
            ContentSecurityPolicy::strict().without_nonce(),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        );
        // A directive that only had the nonce allows nothing without it.
        let p = ContentSecurityPolicy::new()
            .directive("default-src", ["'self'"])
            .directive("style-src", [NONCE])
            .directive("upgrade-insecure-requests", Vec::<String>::new())
            .nonce_in(["script-src"])
            .report_uri("/r");
        assert_eq!(
            p.without_nonce(),
            "default-src 'self'; style-src 'none'; upgrade-insecure-requests; \
             script-src 'none'; report-uri /r"
        );
        assert!(!p.without_nonce().contains("nonce"));
    }
}
