//! What every command needs: the configuration, the datastore and the account service.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rampart::SecurityConfig;
use rampart::accounts::Accounts;
use rampart::password::PasswordEngine;
use rampart::sql::SqlDatastore;

use crate::env::redact_url;

/// The loaded pieces.
pub struct Context {
    /// The SQL datastore (also reachable as a trait object through `accounts`).
    pub store: SqlDatastore,
    /// The datastore and password engine behind the account operations.
    pub accounts: Accounts,
}

/// Loads the configuration, reporting its warnings through `tracing`.
///
/// # Errors
/// A configuration error naming its key.
pub fn load_config(file: Option<&Path>) -> anyhow::Result<SecurityConfig> {
    let loaded = load(file)?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    Ok(loaded.config)
}

/// Loads the configuration and keeps its warnings (unknown or unsupported keys).
///
/// # Errors
/// A configuration error naming its key.
pub fn load(file: Option<&Path>) -> anyhow::Result<rampart::config::LoadedConfig> {
    SecurityConfig::load_with(file, |c| {
        if c.password.effective_salt().is_none() {
            // Flask-Security refuses to hash without a salt for its HMAC pre-hash; the binary
            // hashes without the pre-hash instead (argon2id salts every hash itself). A database
            // migrated from Flask-Security needs its SECURITY_PASSWORD_SALT to verify old hashes.
            tracing::info!("SECURITY_PASSWORD_SALT is not set: hashing without the HMAC pre-hash");
            c.password.single_hash = rampart::password::SingleHash::All;
        }
    })
    .context("invalid configuration")
}

/// Connects to the database (running migrations) and builds the services.
///
/// # Errors
/// A bad URL, an unreachable database or a password engine configuration error.
pub async fn connect(config: SecurityConfig, database_url: &str) -> anyhow::Result<Context> {
    let store = SqlDatastore::connect(database_url, config.pools.sql_options())
        .await
        .with_context(|| format!("cannot open database {}", redact_url(database_url)))?;
    let passwords =
        PasswordEngine::new(config.password.clone()).context("invalid password settings")?;
    let accounts = Accounts::new(Arc::new(store.clone()), passwords, Arc::new(config));
    Ok(Context { store, accounts })
}
