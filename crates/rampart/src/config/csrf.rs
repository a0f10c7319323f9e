//! The CSRF cookie settings (`SECURITY_CSRF_COOKIE_NAME`, `SECURITY_CSRF_COOKIE`,
//! `SECURITY_CSRF_COOKIE_REFRESH_EACH_REQUEST`; see [`crate::csrf_cookie`]).

use super::ConfigError;
use super::source::{Source, invalid};

/// The CSRF cookie options; a legacy `key` entry of `SECURITY_CSRF_COOKIE` names the cookie.
pub(crate) fn cookie(
    s: &mut Source,
) -> Result<Option<crate::csrf_cookie::CsrfCookie>, ConfigError> {
    use crate::csrf_cookie::{CsrfCookie, SameSite};
    let key = "SECURITY_CSRF_COOKIE";
    let table = s.table(key)?.unwrap_or_default();
    let name = s
        .string("SECURITY_CSRF_COOKIE_NAME")?
        .or_else(|| table.get("key").and_then(|v| v.as_str()).map(str::to_owned))
        .filter(|n| !n.is_empty());
    let refresh = s.bool("SECURITY_CSRF_COOKIE_REFRESH_EACH_REQUEST", false)?;
    let Some(name) = name else {
        return Ok(None);
    };
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(invalid(
            "SECURITY_CSRF_COOKIE_NAME",
            "must be a cookie name (letters, digits, - _ .)",
        ));
    }
    let mut c = CsrfCookie::new(name);
    c.refresh_each_request = refresh;
    for (k, v) in &table {
        let bad = |what: &str| invalid(key, &format!("{k}: expected {what}"));
        match k.to_ascii_lowercase().as_str() {
            "key" => {}
            "samesite" => {
                c.same_site = match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                    Some("strict") => SameSite::Strict,
                    Some("lax") => SameSite::Lax,
                    Some("none") => SameSite::None,
                    _ => return Err(bad("Strict, Lax or None")),
                }
            }
            "httponly" => c.http_only = v.as_bool().ok_or_else(|| bad("true or false"))?,
            "secure" => c.secure = v.as_bool().ok_or_else(|| bad("true or false"))?,
            "path" => c.path = v.as_str().ok_or_else(|| bad("a path"))?.to_owned(),
            "domain" => c.domain = v.as_str().map(str::to_owned),
            _ => return Err(bad("one of samesite, httponly, secure, path, domain")),
        }
    }
    if c.same_site == SameSite::None && !c.secure {
        return Err(invalid(key, "samesite None requires secure"));
    }
    Ok(Some(c))
}
