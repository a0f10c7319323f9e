//! The security-header settings (Rampart-only `SECURITY_*` keys; see [`crate::headers`]).

use super::ConfigError;
use super::source::{Source, invalid};
use crate::headers::{ContentSecurityPolicy, SecurityHeaders};

/// Reads the header settings; `None` when `SECURITY_HEADERS` is false.
pub(crate) fn read(s: &mut Source) -> Result<Option<SecurityHeaders>, ConfigError> {
    let d = SecurityHeaders::default();
    let on = s.bool("SECURITY_HEADERS", true)?;
    let mut h = d.clone();
    h.force_https = s.bool("SECURITY_FORCE_HTTPS", d.force_https)?;
    h.force_https_permanent = s.bool("SECURITY_FORCE_HTTPS_PERMANENT", d.force_https_permanent)?;
    let max_age = s.int("SECURITY_HSTS_MAX_AGE", 31_536_000, 0, 2 * 31_536_000)?;
    h.hsts_max_age = u64::try_from(max_age).unwrap_or(0);
    h.hsts_include_subdomains = s.bool(
        "SECURITY_HSTS_INCLUDE_SUBDOMAINS",
        d.hsts_include_subdomains,
    )?;
    h.hsts_preload = s.bool("SECURITY_HSTS_PRELOAD", d.hsts_preload)?;
    if h.hsts_preload && (h.hsts_max_age < 31_536_000 || !h.hsts_include_subdomains) {
        return Err(invalid(
            "SECURITY_HSTS_PRELOAD",
            "preload needs SECURITY_HSTS_MAX_AGE >= 31536000 and SECURITY_HSTS_INCLUDE_SUBDOMAINS",
        ));
    }
    h.csp = csp(s)?;
    h.frame_options = optional(s, "SECURITY_FRAME_OPTIONS", d.frame_options)?;
    if let Some(f) = &h.frame_options
        && !matches!(f.to_ascii_uppercase().as_str(), "DENY" | "SAMEORIGIN")
    {
        return Err(invalid(
            "SECURITY_FRAME_OPTIONS",
            "expected DENY, SAMEORIGIN or \"\"",
        ));
    }
    h.referrer_policy = optional(s, "SECURITY_REFERRER_POLICY", d.referrer_policy)?;
    h.permissions_policy = optional(s, "SECURITY_PERMISSIONS_POLICY", d.permissions_policy)?;
    h.cross_origin_opener_policy = optional(
        s,
        "SECURITY_CROSS_ORIGIN_OPENER_POLICY",
        d.cross_origin_opener_policy,
    )?;
    for (key, v) in [
        ("SECURITY_FRAME_OPTIONS", &h.frame_options),
        ("SECURITY_REFERRER_POLICY", &h.referrer_policy),
        ("SECURITY_PERMISSIONS_POLICY", &h.permissions_policy),
        (
            "SECURITY_CROSS_ORIGIN_OPENER_POLICY",
            &h.cross_origin_opener_policy,
        ),
    ] {
        if v.as_deref()
            .is_some_and(|v| axum::http::HeaderValue::from_str(v).is_err())
        {
            return Err(invalid(key, "not a valid header value"));
        }
    }
    Ok(on.then_some(h))
}

/// A header value; `""` turns the header off.
fn optional(
    s: &mut Source,
    key: &str,
    default: Option<String>,
) -> Result<Option<String>, ConfigError> {
    Ok(match s.string(key)? {
        None => default,
        Some(v) if v.trim().is_empty() => None,
        Some(v) => Some(v.trim().to_owned()),
    })
}

/// `SECURITY_CSP` (a table of directives, or `false`), `SECURITY_CSP_NONCE_IN`,
/// `SECURITY_CSP_REPORT_ONLY`, `SECURITY_CSP_REPORT_URI`, `SECURITY_CSP_REPORT_TO`.
fn csp(s: &mut Source) -> Result<Option<ContentSecurityPolicy>, ConfigError> {
    let key = "SECURITY_CSP";
    // A table of directives, or a boolean (`false`: no CSP, `true`: the strict default).
    let (off, table) = match s.table(key) {
        Ok(t) => (false, t),
        Err(table_error) => match s.bool(key, true) {
            Ok(on) => (!on, None),
            Err(_) => return Err(table_error),
        },
    };
    let nonce_in = s.list("SECURITY_CSP_NONCE_IN")?;
    let report_only = s.bool("SECURITY_CSP_REPORT_ONLY", false)?;
    let report_uri = s
        .string("SECURITY_CSP_REPORT_URI")?
        .filter(|v| !v.is_empty());
    let report_to = s
        .string("SECURITY_CSP_REPORT_TO")?
        .filter(|v| !v.is_empty());
    if off {
        return Ok(None);
    }
    let mut p = match table {
        None => ContentSecurityPolicy::strict(),
        Some(t) => {
            let mut p = ContentSecurityPolicy::new().nonce_in(["script-src", "style-src"]);
            for (directive, sources) in t {
                let list: Vec<String> = match sources {
                    serde_json::Value::String(v) => {
                        v.split_whitespace().map(str::to_owned).collect()
                    }
                    serde_json::Value::Array(a) => a
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or_else(|| invalid(key, &format!("{directive}: expected strings")))?,
                    _ => return Err(invalid(key, &format!("{directive}: expected a string"))),
                };
                if directive.is_empty()
                    || !directive
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    || list.iter().any(|v| v.contains([';', ',', '\r', '\n']))
                {
                    return Err(invalid(key, &format!("{directive}: invalid directive")));
                }
                p = p.directive(&directive, list);
            }
            p
        }
    };
    if let Some(n) = nonce_in {
        p = p.nonce_in(n);
    }
    if let Some(u) = report_uri {
        p = p.report_uri(u);
    }
    if let Some(g) = report_to {
        p = p.report_to(g);
    }
    Ok(Some(p.with_report_only(report_only)))
}
