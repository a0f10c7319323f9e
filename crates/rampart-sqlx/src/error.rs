//! Mapping of sqlx errors onto [`DatastoreError`].

use rampart_core::DatastoreError;
use sqlx::error::{DatabaseError, ErrorKind};

/// Maps a sqlx error to the datastore's error kinds.
pub(crate) fn map_err(err: sqlx::Error) -> DatastoreError {
    match err {
        sqlx::Error::Database(db) => map_database_error(db.as_ref()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => DatastoreError::Unavailable(err.to_string()),
        sqlx::Error::Configuration(_) => DatastoreError::Schema(err.to_string()),
        sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => DatastoreError::Schema(err.to_string()),
        other => DatastoreError::Backend(other.to_string()),
    }
}

fn map_database_error(db: &dyn DatabaseError) -> DatastoreError {
    match db.kind() {
        ErrorKind::UniqueViolation => DatastoreError::AlreadyExists {
            field: unique_field(db.constraint(), db.message()),
        },
        _ if is_busy(db) => DatastoreError::Unavailable(format!("database is busy: {db}")),
        _ if is_undefined_object(db) => DatastoreError::Schema(db.to_string()),
        _ => DatastoreError::Backend(db.to_string()),
    }
}

/// Whether `err` is a busy/locked database (worth retrying).
pub(crate) fn is_busy_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => is_busy(db.as_ref()),
        _ => false,
    }
}

/// SQLite `SQLITE_BUSY`/`SQLITE_LOCKED` (after the busy timeout), PostgreSQL's
/// "cannot connect now" and serialization/lock-timeout classes.
fn is_busy(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if let Ok(n) = code.parse::<i64>() {
        // SQLite (primary or extended result code).
        return matches!(n & 0xff, 5 | 6);
    }
    matches!(&*code, "57P03" | "55P03" | "53300")
}

/// PostgreSQL "undefined table/column" (42P01/42703); SQLite reports those as plain errors.
fn is_undefined_object(db: &dyn DatabaseError) -> bool {
    if matches!(db.code().as_deref(), Some("42P01" | "42703")) {
        return true;
    }
    let msg = db.message();
    msg.starts_with("no such table") || msg.starts_with("no such column")
}

/// Names the column of a unique violation from the constraint name (PostgreSQL) or the message
/// (SQLite: `UNIQUE constraint failed: user.email` or `… index 'ix_rampart_user_email_lower'`).
pub(crate) fn unique_field(constraint: Option<&str>, message: &str) -> &'static str {
    let text = constraint.unwrap_or(message).to_ascii_lowercase();
    const FIELDS: [(&str, &str); 8] = [
        ("credential_id", "credential_id"),
        ("us_phone_number", "us_phone_number"),
        ("webauthn_user_handle", "fs_webauthn_user_handle"),
        ("token_uniquifier", "fs_token_uniquifier"),
        ("fs_uniquifier", "fs_uniquifier"),
        ("refresh_family", "refresh_family"),
        ("username", "username"),
        ("email", "email"),
    ];
    for (needle, field) in FIELDS {
        if text.contains(needle) {
            return field;
        }
    }
    if text.contains("name") {
        return "name";
    }
    "value"
}

#[cfg(test)]
mod tests {
    use super::unique_field;

    #[test]
    fn unique_fields_from_both_backends() {
        let cases = [
            (None, "UNIQUE constraint failed: user.email", "email"),
            (
                None,
                "UNIQUE constraint failed: index 'ix_rampart_user_email_lower'",
                "email",
            ),
            (None, "UNIQUE constraint failed: user.username", "username"),
            (
                None,
                "UNIQUE constraint failed: index 'ix_rampart_user_username_lower'",
                "username",
            ),
            (None, "UNIQUE constraint failed: role.name", "name"),
            (
                None,
                "UNIQUE constraint failed: web_authn.credential_id",
                "credential_id",
            ),
            (
                None,
                "UNIQUE constraint failed: user.us_phone_number",
                "us_phone_number",
            ),
            (
                None,
                "UNIQUE constraint failed: user.fs_webauthn_user_handle",
                "fs_webauthn_user_handle",
            ),
            (
                None,
                "UNIQUE constraint failed: user.fs_uniquifier",
                "fs_uniquifier",
            ),
            (Some("user_email_key"), "duplicate key", "email"),
            (
                Some("ix_rampart_user_email_lower"),
                "duplicate key",
                "email",
            ),
            (Some("user_username_key"), "duplicate key", "username"),
            (Some("role_name_key"), "duplicate key", "name"),
            (
                Some("ix_web_authn_credential_id"),
                "duplicate key",
                "credential_id",
            ),
            (
                Some("user_fs_token_uniquifier_key"),
                "duplicate key",
                "fs_token_uniquifier",
            ),
            (
                Some("user_us_phone_number_key"),
                "duplicate key",
                "us_phone_number",
            ),
        ];
        for (constraint, message, want) in cases {
            assert_eq!(
                unique_field(constraint, message),
                want,
                "{constraint:?} {message}"
            );
        }
    }
}
