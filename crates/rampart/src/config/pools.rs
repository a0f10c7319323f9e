//! Reads the Rampart-only connection pool keys into [`PoolConfig`].

use std::time::Duration;

use super::ConfigError;
use super::source::Source;

/// Sizes and timeouts of the connections to the database and to Redis (Rampart-only keys).
///
/// | key | meaning | default |
/// | --- | --- | --- |
/// | `SECURITY_DATABASE_POOL_SIZE` | most database connections per process | 10 |
/// | `SECURITY_DATABASE_POOL_MIN` | connections kept open when idle | 0 |
/// | `SECURITY_DATABASE_POOL_TIMEOUT` | seconds a request waits for a connection before it is answered 503 | 5 |
/// | `SECURITY_DATABASE_CONNECT_TIMEOUT` | seconds the start-up waits for the database | 5 |
/// | `SECURITY_REDIS_POOL_SIZE` | multiplexed Redis connections per process | 2 |
/// | `SECURITY_REDIS_TIMEOUT` | seconds a Redis command or (re)connection may take before a 503 | 2 |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// `SECURITY_DATABASE_POOL_SIZE` (1–1000, default 10).
    pub database_max_connections: u32,
    /// `SECURITY_DATABASE_POOL_MIN` (0–1000, default 0; at most the pool size).
    pub database_min_connections: u32,
    /// `SECURITY_DATABASE_POOL_TIMEOUT` in seconds (1–300, default 5).
    pub database_acquire_timeout_secs: u64,
    /// `SECURITY_DATABASE_CONNECT_TIMEOUT` in seconds (1–300, default 5).
    pub database_connect_timeout_secs: u64,
    /// `SECURITY_REDIS_POOL_SIZE` (1–64, default 2).
    pub redis_connections: usize,
    /// `SECURITY_REDIS_TIMEOUT` in seconds (1–60, default 2).
    pub redis_timeout_secs: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            database_max_connections: 10,
            database_min_connections: 0,
            database_acquire_timeout_secs: 5,
            database_connect_timeout_secs: 5,
            redis_connections: 2,
            redis_timeout_secs: 2,
        }
    }
}

impl PoolConfig {
    /// The database pool's settings.
    pub fn sql_options(&self) -> rampart_sqlx::SqlOptions {
        rampart_sqlx::SqlOptions::default()
            .with_max_connections(self.database_max_connections)
            .with_min_connections(self.database_min_connections)
            .with_acquire_timeout(Duration::from_secs(self.database_acquire_timeout_secs))
            .with_connect_timeout(Duration::from_secs(self.database_connect_timeout_secs))
    }

    /// The Redis pool's settings.
    pub fn redis_options(&self) -> crate::redis_pool::RedisOptions {
        crate::redis_pool::RedisOptions::default()
            .with_connections(self.redis_connections)
            .with_timeout(Duration::from_secs(self.redis_timeout_secs))
    }
}

/// Reads every pool key.
pub(crate) fn read(s: &mut Source) -> Result<PoolConfig, ConfigError> {
    let d = PoolConfig::default();
    let max = s.int(
        "SECURITY_DATABASE_POOL_SIZE",
        i64::from(d.database_max_connections),
        1,
        1000,
    )?;
    let min = s.int(
        "SECURITY_DATABASE_POOL_MIN",
        i64::from(d.database_min_connections),
        0,
        1000,
    )?;
    if min > max {
        return Err(super::source::invalid(
            "SECURITY_DATABASE_POOL_MIN",
            "must not exceed SECURITY_DATABASE_POOL_SIZE",
        ));
    }
    let secs = |s: &mut Source, key: &str, default: u64, max: i64| {
        s.int(key, i64::try_from(default).unwrap_or(1), 1, max)
            .map(|v| u64::try_from(v).unwrap_or(default))
    };
    Ok(PoolConfig {
        database_max_connections: u32::try_from(max).unwrap_or(d.database_max_connections),
        database_min_connections: u32::try_from(min).unwrap_or(0),
        database_acquire_timeout_secs: secs(
            s,
            "SECURITY_DATABASE_POOL_TIMEOUT",
            d.database_acquire_timeout_secs,
            300,
        )?,
        database_connect_timeout_secs: secs(
            s,
            "SECURITY_DATABASE_CONNECT_TIMEOUT",
            d.database_connect_timeout_secs,
            300,
        )?,
        redis_connections: usize::try_from(s.int(
            "SECURITY_REDIS_POOL_SIZE",
            i64::try_from(d.redis_connections).unwrap_or(2),
            1,
            64,
        )?)
        .unwrap_or(d.redis_connections),
        redis_timeout_secs: secs(s, "SECURITY_REDIS_TIMEOUT", d.redis_timeout_secs, 60)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::SecurityConfig;

    fn load(env: &[(&str, &str)]) -> Result<SecurityConfig, String> {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([(
                "SECURITY_PASSWORD_SINGLE_HASH".to_owned(),
                "true".to_owned(),
            )]);
        SecurityConfig::from_toml_and_env(None, env)
            .map(|l| l.config)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn keys_size_the_pools() {
        let c = load(&[
            ("SECURITY_DATABASE_POOL_SIZE", "32"),
            ("SECURITY_DATABASE_POOL_MIN", "2"),
            ("SECURITY_DATABASE_POOL_TIMEOUT", "3"),
            ("SECURITY_DATABASE_CONNECT_TIMEOUT", "7"),
            ("SECURITY_REDIS_POOL_SIZE", "4"),
            ("SECURITY_REDIS_TIMEOUT", "1"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let sql = c.pools.sql_options();
        assert_eq!(sql.max_connections, 32);
        assert_eq!(sql.min_connections, 2);
        assert_eq!(sql.acquire_timeout.as_secs(), 3);
        assert_eq!(sql.connect_timeout.as_secs(), 7);
        let redis = c.pools.redis_options();
        assert_eq!(redis.connections, 4);
        assert_eq!(redis.timeout.as_secs(), 1);
        let d = load(&[]).unwrap_or_else(|e| panic!("{e}")).pools;
        assert_eq!(d, super::PoolConfig::default());
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("SECURITY_DATABASE_POOL_SIZE", "0"),
            ("SECURITY_DATABASE_POOL_SIZE", "many"),
            ("SECURITY_DATABASE_POOL_TIMEOUT", "0"),
            ("SECURITY_REDIS_POOL_SIZE", "65"),
            ("SECURITY_REDIS_TIMEOUT", "-1"),
        ] {
            let err = load(&[(key, value)]).err().unwrap_or_default();
            assert!(err.contains(key), "{key}={value}: {err}");
        }
        let err = load(&[
            ("SECURITY_DATABASE_POOL_SIZE", "2"),
            ("SECURITY_DATABASE_POOL_MIN", "3"),
        ])
        .err()
        .unwrap_or_default();
        assert!(err.contains("SECURITY_DATABASE_POOL_MIN"), "{err}");
    }
}
