//! The demo server's environment (demo-contract.md): where to listen, which database, which
//! mail transport, the secret key and the profile.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, bail};

/// Settings read from the process environment.
#[derive(Debug, Clone)]
pub struct DemoEnv {
    /// Listen address (`HOST`, `PORT`).
    pub addr: SocketAddr,
    /// `DATABASE_URL`, or `sqlite://` + `DATABASE_PATH`, or the embedded default.
    pub database_url: String,
    /// `MAIL_OUTBOX` (default `./outbox` when no SMTP is configured).
    pub mail_outbox: Option<String>,
    /// `SMTP_URL`.
    pub smtp_url: Option<String>,
    /// `PROFILE`: `default` or `strict`.
    pub strict: bool,
    /// `REDIS_URL`.
    pub redis_url: Option<String>,
    /// `DEMO_TEST_HOOKS=1`: adds the test-only endpoints.
    pub test_hooks: bool,
    /// `DEMO_INSTANCE`: a name put in the `X-Demo-Instance` header of every response.
    pub instance: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The database URL for both `serve` and the admin commands.
pub fn database_url() -> String {
    if let Some(url) = var("DATABASE_URL") {
        return url;
    }
    match var("DATABASE_PATH") {
        Some(path) => format!("sqlite://{path}"),
        None => "sqlite://rampart-demo.db".to_owned(),
    }
}

impl DemoEnv {
    /// Reads and checks the environment.
    ///
    /// # Errors
    /// A message naming the variable with a bad value.
    pub fn from_env() -> anyhow::Result<Self> {
        let port: u16 = match var("PORT") {
            Some(p) => p
                .trim()
                .parse()
                .with_context(|| format!("PORT must be a port number, got {p:?}"))?,
            None => 8000,
        };
        let host: IpAddr = match var("HOST") {
            Some(h) => h
                .trim()
                .parse()
                .with_context(|| format!("HOST must be an IP address, got {h:?}"))?,
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let profile = var("PROFILE").unwrap_or_else(|| "default".to_owned());
        let strict = match profile.as_str() {
            "default" => false,
            "strict" => true,
            other => bail!("PROFILE must be `default` or `strict`, got {other:?}"),
        };
        let smtp_url = var("SMTP_URL");
        let mail_outbox =
            var("MAIL_OUTBOX").or_else(|| smtp_url.is_none().then(|| "./outbox".to_owned()));
        Ok(Self {
            addr: SocketAddr::new(host, port),
            database_url: database_url(),
            mail_outbox,
            smtp_url,
            strict,
            redis_url: var("REDIS_URL"),
            test_hooks: var("DEMO_TEST_HOOKS")
                .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
            instance: var("DEMO_INSTANCE"),
        })
    }

    /// A one-line description of the mail transport.
    pub fn mail_description(&self) -> String {
        match (&self.smtp_url, &self.mail_outbox) {
            (Some(url), _) => format!("smtp {}", redact_url(url)),
            (None, Some(dir)) => format!("outbox {dir}"),
            (None, None) => "none".to_owned(),
        }
    }
}

/// Hides the password of a URL such as `postgres://user:secret@host/db` before logging it.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(redact_url("redis://:pw@h:6379"), "redis://:***@h:6379");
    }
}
