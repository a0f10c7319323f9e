//! `rampart serve`: the demo server of demo-contract.md.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use rampart::datastore::UserDatastore;
use rampart::{Security, SecurityConfig};
use rampart_sqlx::sessions::ExpiredDeletion as _;
use tokio::net::TcpListener;

use crate::context;
use crate::env::{DemoEnv, redact_url};
use crate::{api, openapi, seed};

/// Applies the demo's feature set (demo-contract.md) on top of the loaded configuration, and a
/// random `SECRET_KEY` (with a warning) when none is set.
pub fn demo_config(c: SecurityConfig, env: &DemoEnv) -> SecurityConfig {
    let mut c = demo_features(c, env);
    if c.secret_key.is_none() {
        tracing::warn!(
            "SECRET_KEY is not set: using a random key, so sessions and tokens end with this process"
        );
        c.secret_key = Some(rampart::config::Secret::new(random_key()));
    }
    if c.mfa.totp_secrets.is_empty()
        && let Some(key) = &c.secret_key
    {
        // The demo derives its TOTP encryption secret from SECRET_KEY; a deployment sets
        // SECURITY_TOTP_SECRETS (and keeps it when SECRET_KEY rotates).
        let derived = derive_totp_secret(key.expose());
        c.mfa
            .totp_secrets
            .insert("1".to_owned(), rampart::config::Secret::new(derived));
    }
    c
}

/// The demo's feature set (demo-contract.md) on top of the loaded configuration: what
/// `rampart serve` runs with, and what `rampart check` inspects.
pub fn demo_features(mut c: SecurityConfig, env: &DemoEnv) -> SecurityConfig {
    c.registerable = true;
    c.confirmable = true;
    c.recoverable = true;
    c.changeable = true;
    c.change_email = true;
    c.trackable = true;
    c.two_factor = true;
    c.multi_factor_recovery_codes = true;
    c.unified_signin = true;
    c.webauthn = true;
    c.freshness_secs = 300;
    c.freshness_grace_period_secs = 0;
    c.token_max_age_secs = 4 * 3600;
    c.return_generic_responses = c.return_generic_responses || env.strict;
    // "Security Patterns": CSRF for session and Basic callers, not for tokens; unauthenticated
    // endpoints such as /login skip it.
    c.csrf_protect_mechanisms = vec![rampart::Mechanism::Session, rampart::Mechanism::Basic];
    c.csrf_ignore_unauth_endpoints = true;
    // Defence in depth: state-changing requests a browser marks cross-site are refused.
    c.csrf_cross_site_check = true;
    if std::env::var_os("SECURITY_US_ENABLED_METHODS").is_none() {
        // demo-contract.md: unified sign-in with the password and email methods.
        c.mfa.us_enabled_methods = vec!["password".to_owned(), "email".to_owned()];
    }
    if c.mfa.totp_issuer.is_none() {
        c.mfa.totp_issuer = Some("Rampart demo".to_owned());
    }
    c
}

fn derive_totp_secret(secret_key: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("rampart-demo-totp\0{secret_key}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_key() -> String {
    use rand::RngExt as _;
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts the server and runs until Ctrl-C or SIGTERM.
///
/// # Errors
/// Bad environment, unreachable database, port in use, invalid security settings.
pub async fn run(config_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let env = DemoEnv::from_env()?;
    let config = demo_config(context::load_config(config_file)?, &env);
    let ctx = context::connect(config.clone(), &env.database_url).await?;
    let created = seed::seed(&ctx)
        .await
        .context("cannot create the seed data")?;
    if created > 0 {
        tracing::info!(created, "seed users created");
    }
    let redis = redis_pool(&env, &config).await?;
    let listener = TcpListener::bind(env.addr)
        .await
        .with_context(|| format!("cannot listen on {}", env.addr))?;
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let mut config = config;
    if config.lifecycle.server_name.is_none() {
        // Emailed links point at this server unless SERVER_NAME says otherwise; never at the
        // Host header of a request.
        config.lifecycle.server_name = Some(addr.to_string());
    }
    let security = match &redis {
        Some(pool) => security(
            config,
            &ctx,
            Arc::new(rampart::throttle::RedisThrottleStore::from_pool(
                pool.clone(),
            )),
            rampart::session::RedisSessionStore::new(pool.clone()),
            mailer(&env)?,
        )?,
        None => security(
            config,
            &ctx,
            Arc::new(ctx.store.throttle_store()),
            ctx.store.session_store(),
            mailer(&env)?,
        )?,
    };
    let shutdown = shutdown();
    tracing::info!(
        "rampart listening on http://{addr} (database {}, mail {}, sessions {})",
        redact_url(&env.database_url),
        env.mail_description(),
        env.redis_url.as_deref().map_or_else(
            || "in the database".to_owned(),
            |u| format!("in Redis at {}", redact_url(u))
        )
    );
    // Redis expires its sessions by itself; the database needs a sweep.
    let cleanup = redis.is_none().then(|| {
        tokio::spawn(
            ctx.store
                .session_store()
                .continuously_delete_expired(std::time::Duration::from_secs(300)),
        )
    });
    let throttle_cleanup = tokio::spawn(delete_expired_counters(security.throttle().clone()));
    let demo = api::Demo {
        store: ctx.store.clone(),
        redis,
    };
    let routes = openapi::with_document(security.operations(), api::routes(demo, env.test_hooks));
    // The instance header outermost, so Rampart's own endpoints carry it too.
    let app = tower::ServiceBuilder::new()
        .option_layer(instance_header(env.instance.as_deref())?)
        .service(security.wrap(routes.into_parts().0));
    let served = axum::serve(
        listener,
        axum::ServiceExt::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("server error");
    if let Some(queue) = security.lifecycle().mail_queue() {
        // Emails of the last requests still go out (bounded: a dead server cannot hold up
        // the shutdown).
        queue.drain(std::time::Duration::from_secs(10)).await;
    }
    if let Some(cleanup) = cleanup {
        cleanup.abort();
    }
    throttle_cleanup.abort();
    served
}

/// The Redis pool of the sessions and throttle counters when `REDIS_URL` is set (shared by
/// every instance), sized by `SECURITY_REDIS_POOL_SIZE`; `None` keeps both in the database.
async fn redis_pool(
    env: &DemoEnv,
    config: &SecurityConfig,
) -> anyhow::Result<Option<rampart::redis_pool::RedisPool>> {
    let Some(url) = &env.redis_url else {
        return Ok(None);
    };
    let pool = rampart::redis_pool::RedisPool::connect(url, &config.pools.redis_options())
        .await
        .with_context(|| format!("cannot connect to Redis at {}", redact_url(url)))?;
    tracing::info!(
        connections = pool.size(),
        "sessions and throttle counters in Redis at {}",
        redact_url(url)
    );
    Ok(Some(pool))
}

/// With `DEMO_INSTANCE` set, every response says which instance served it
/// (`X-Demo-Instance`), so tests and operators can see the load balancer spread requests.
fn instance_header(
    instance: Option<&str>,
) -> anyhow::Result<Option<tower_http::set_header::SetResponseHeaderLayer<axum::http::HeaderValue>>>
{
    let Some(name) = instance else {
        return Ok(None);
    };
    let value = axum::http::HeaderValue::from_str(name)
        .with_context(|| format!("DEMO_INSTANCE must be a header value, got {name:?}"))?;
    Ok(Some(
        tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::HeaderName::from_static("x-demo-instance"),
            value,
        ),
    ))
}

/// Deletes expired throttle counters every 5 minutes (a no-op for Redis).
async fn delete_expired_counters(throttle: rampart::throttle::Throttle) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        every.tick().await;
        if let Err(e) = throttle.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired throttle counters");
        }
    }
}

/// The demo's [`Security`]: its replaced unauthz handler and the per-user token expiry of
/// `shortlived@example.com` (2 s after issue).
fn security(
    config: SecurityConfig,
    ctx: &context::Context,
    throttle_store: Arc<dyn rampart::throttle::ThrottleStore>,
    sessions: impl rampart_sqlx::sessions::SessionStore,
    mailer: Arc<dyn rampart::mail::Mailer>,
) -> anyhow::Result<Security> {
    let store: Arc<dyn UserDatastore> = Arc::new(ctx.store.clone());
    Security::builder(config, store, sessions)
        .throttle_store(throttle_store)
        .mailer(mailer)
        .sms_sender(sms_sender()?)
        .page_template("demo/index.html", api::HOME_TEMPLATE)
        .unauthz_handler(|_| api::forbidden())
        .token_expire_timestamp(|user| {
            (user.email == "shortlived@example.com")
                .then(|| time::OffsetDateTime::now_utc().unix_timestamp() + 2)
        })
        .build()
        .context("invalid security settings")
}

/// SMS codes: one file each in `SMS_OUTBOX` when set, else only logged.
fn sms_sender() -> anyhow::Result<Arc<dyn rampart::two_factor::SmsSender>> {
    match std::env::var("SMS_OUTBOX") {
        Ok(dir) if !dir.is_empty() => Ok(Arc::new(
            rampart::two_factor::OutboxSmsSender::new(&dir)
                .with_context(|| format!("cannot create SMS_OUTBOX {dir}"))?,
        )),
        _ => Ok(Arc::new(rampart::two_factor::LogSmsSender)),
    }
}

/// The demo's mail transport: `SMTP_URL`, else the `MAIL_OUTBOX` directory.
fn mailer(env: &DemoEnv) -> anyhow::Result<Arc<dyn rampart::mail::Mailer>> {
    if let Some(url) = &env.smtp_url {
        let smtp = rampart::mail::SmtpMailer::from_url(url, std::time::Duration::from_secs(10))
            .with_context(|| format!("SMTP_URL {} is not usable", redact_url(url)))?;
        return Ok(Arc::new(smtp));
    }
    let dir = env
        .mail_outbox
        .clone()
        .unwrap_or_else(|| "./outbox".to_owned());
    Ok(Arc::new(rampart::mail::OutboxMailer::new(dir)))
}

/// The shutdown signal. The SIGTERM handler is installed when this is called, not when the
/// future is first polled, so a SIGTERM that arrives right after the "listening" line (a
/// supervisor, a test) still shuts down gracefully instead of killing the process.
fn shutdown() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { () = ctrl_c => {}, () = term => {} }
        tracing::info!("shutting down");
    }
}
