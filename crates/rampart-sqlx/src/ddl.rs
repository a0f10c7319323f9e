//! The schema Rampart creates in an empty database: Flask-Security 5.9's `fsqla_v4` tables as
//! SQLAlchemy emits them, plus `fs_token_uniquifier`, with the WebAuthn table named `webauthn`.
//!
//! `DT`, `ID` and `BLOB` are the only differences between the backends, so each table is
//! written once with `concat!` and a per-backend macro.

/// The unique index of `webauthn.credential_id` (same SQL on both backends).
pub(crate) const WEBAUTHN_INDEX: &str =
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_webauthn_credential_id ON webauthn (credential_id)";

macro_rules! tables {
    ($dt:literal, $id:literal, $blob:literal) => {
        /// Migration bookkeeping.
        pub(crate) const MIGRATIONS: &str = concat!(
            "CREATE TABLE IF NOT EXISTS rampart_migrations (",
            "version INTEGER NOT NULL PRIMARY KEY, description VARCHAR(255) NOT NULL, ",
            "applied_at ",
            $dt,
            " NOT NULL)"
        );
        /// Table `role`.
        pub(crate) const ROLE: &str = concat!(
            "CREATE TABLE IF NOT EXISTS role (id ",
            $id,
            " NOT NULL, name VARCHAR(80) NOT NULL, ",
            "description VARCHAR(255), permissions TEXT, ",
            "update_datetime ",
            $dt,
            " DEFAULT CURRENT_TIMESTAMP NOT NULL, ",
            "PRIMARY KEY (id), UNIQUE (name))"
        );
        /// Table `user`.
        pub(crate) const USER: &str = concat!(
            "CREATE TABLE IF NOT EXISTS \"user\" (id ",
            $id,
            " NOT NULL, ",
            "email VARCHAR(255) NOT NULL, username VARCHAR(255), password VARCHAR(255), ",
            "active BOOLEAN NOT NULL, fs_uniquifier VARCHAR(64) NOT NULL, ",
            "fs_token_uniquifier VARCHAR(64), fs_webauthn_user_handle VARCHAR(64), ",
            "confirmed_at ",
            $dt,
            ", last_login_at ",
            $dt,
            ", current_login_at ",
            $dt,
            ", ",
            "last_login_ip VARCHAR(64), current_login_ip VARCHAR(64), login_count INTEGER, ",
            "tf_primary_method VARCHAR(64), tf_totp_secret VARCHAR(255), ",
            "tf_phone_number VARCHAR(128), us_totp_secrets TEXT, us_phone_number VARCHAR(128), ",
            "mf_recovery_codes TEXT, ",
            "create_datetime ",
            $dt,
            " DEFAULT CURRENT_TIMESTAMP NOT NULL, ",
            "update_datetime ",
            $dt,
            " DEFAULT CURRENT_TIMESTAMP NOT NULL, ",
            "PRIMARY KEY (id), UNIQUE (email), UNIQUE (username), UNIQUE (fs_uniquifier), ",
            "UNIQUE (fs_token_uniquifier), UNIQUE (fs_webauthn_user_handle), ",
            "UNIQUE (us_phone_number))"
        );
        /// Table `roles_users`.
        pub(crate) const ROLES_USERS: &str = concat!(
            "CREATE TABLE IF NOT EXISTS roles_users (user_id INTEGER, role_id INTEGER, ",
            "FOREIGN KEY(user_id) REFERENCES \"user\" (id), ",
            "FOREIGN KEY(role_id) REFERENCES role (id))"
        );
        /// Table `webauthn`.
        pub(crate) const WEBAUTHN: &str = concat!(
            "CREATE TABLE IF NOT EXISTS webauthn (id ",
            $id,
            " NOT NULL, ",
            "credential_id ",
            $blob,
            " NOT NULL, public_key ",
            $blob,
            " NOT NULL, ",
            "sign_count INTEGER, transports TEXT, backup_state BOOLEAN NOT NULL, ",
            "device_type VARCHAR(64) NOT NULL, extensions VARCHAR(255), ",
            "create_datetime ",
            $dt,
            " DEFAULT CURRENT_TIMESTAMP NOT NULL, ",
            "lastuse_datetime ",
            $dt,
            " NOT NULL, name VARCHAR(64) NOT NULL, ",
            "usage VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (id), ",
            "FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE CASCADE)"
        );
        /// Table `fs_refresh` (refresh-token trackers, fsqla_v4).
        pub(crate) const REFRESH: &str = concat!(
            "CREATE TABLE IF NOT EXISTS fs_refresh (id ",
            $id,
            " NOT NULL, ",
            "refresh_family VARCHAR(64) NOT NULL, gen INTEGER, expires_at ",
            $dt,
            " NOT NULL, ",
            "revoked_at ",
            $dt,
            ", last_used_at ",
            $dt,
            " NOT NULL, ",
            "create_datetime ",
            $dt,
            " DEFAULT CURRENT_TIMESTAMP NOT NULL, ",
            "name VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (id), ",
            "UNIQUE (refresh_family), ",
            "FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE CASCADE)"
        );
    };
}

/// SQLite DDL.
pub(crate) mod sqlite {
    tables!("DATETIME", "INTEGER", "BLOB");
}

/// PostgreSQL DDL.
pub(crate) mod postgres {
    tables!("TIMESTAMP WITHOUT TIME ZONE", "SERIAL", "BYTEA");
}
