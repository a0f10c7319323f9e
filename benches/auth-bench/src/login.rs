//! Signing in to the demo server (token and session cookie) and checking each case once
//! before wrk hammers it.

use anyhow::{Context as _, bail};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, SET_COOKIE};
use serde_json::{Value, json};

/// The demo's seeded user (demo-contract.md).
pub const EMAIL: &str = "user@example.com";
/// Its password.
pub const PASSWORD: &str = "Us3r-correct-horse-9";

/// A client with no cookie store: each call is as fresh as a wrk connection.
pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .build()
        .context("cannot build the HTTP client")
}

async fn login(client: &reqwest::Client, url: &str) -> anyhow::Result<reqwest::Response> {
    let resp = client
        .post(url)
        .header(ACCEPT, "application/json")
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .with_context(|| format!("POST {url} failed"))?;
    if resp.status() != StatusCode::OK {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        bail!("POST {url} as {EMAIL} answered {status}: {body}");
    }
    Ok(resp)
}

/// `POST /login?include_auth_token` → `response.user.authentication_token`.
///
/// # Errors
/// The login fails or the answer carries no token.
pub async fn token(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let url = format!("{base}/login?include_auth_token");
    let body: Value = login(client, &url)
        .await?
        .json()
        .await
        .with_context(|| format!("POST {url}: the answer is not JSON"))?;
    body.pointer("/response/user/authentication_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("POST {url}: no response.user.authentication_token in {body}"))
}

/// `POST /login` → the `Cookie` header value made of every `Set-Cookie` (`name=value; …`).
///
/// # Errors
/// The login fails or sets no cookie.
pub async fn session_cookie(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let url = format!("{base}/login");
    let resp = login(client, &url).await?;
    let pairs: Vec<&str> = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::trim)
        .filter(|pair| pair.contains('='))
        .collect();
    if pairs.is_empty() {
        bail!("POST {url} set no cookie");
    }
    Ok(pairs.join("; "))
}

/// Sends one `GET url` with `headers` and checks the status is `expected`.
///
/// # Errors
/// The request fails or gets another status.
pub async fn probe(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    expected: StatusCode,
) -> anyhow::Result<()> {
    let mut req = client.get(url);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("GET {url} failed"))?;
    let status = resp.status();
    if status != expected {
        let body = resp.text().await.unwrap_or_default();
        bail!("GET {url} answered {status}, expected {expected}: {body}");
    }
    Ok(())
}
