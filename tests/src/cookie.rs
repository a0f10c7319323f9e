//! `Set-Cookie` headers as tests read them.

/// One `Set-Cookie` header, parsed.
#[derive(Clone, Debug)]
pub struct SetCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value, surrounding double quotes removed.
    pub value: String,
    /// Attributes as sent, e.g. `HttpOnly`, `SameSite=Lax`, `Path=/`.
    pub attrs: Vec<String>,
    /// The whole header value.
    pub raw: String,
}

impl SetCookie {
    /// Parses one header value; `None` without a `name=value` pair.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split(';').map(str::trim);
        let (name, value) = parts.next()?.split_once('=')?;
        Some(Self {
            name: name.to_owned(),
            value: value.trim_matches('"').to_owned(),
            attrs: parts.filter(|p| !p.is_empty()).map(str::to_owned).collect(),
            raw: raw.to_owned(),
        })
    }

    /// The value of attribute `key` (case-insensitive); `Some("")` for a flag.
    #[must_use]
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find_map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a.as_str(), ""));
            k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
        })
    }

    /// Whether the header deletes the cookie (empty value, `Max-Age=0` or an expiry in 1970).
    #[must_use]
    pub fn is_removal(&self) -> bool {
        self.value.is_empty()
            || self
                .attr("Max-Age")
                .is_some_and(|v| v.parse::<i64>().is_ok_and(|n| n <= 0))
            || self.attr("Expires").is_some_and(|v| v.contains("1970"))
    }
}
