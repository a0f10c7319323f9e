//! The data model: Flask-Security's `fsqla_v3`/`fsqla_v4` tables `user`, `role`, `roles_users`
//! and `webauthn`, as plain Rust values.
//!
//! Datetimes are naive UTC (`PrimitiveDateTime`), as Flask-Security stores them
//! (`SECURITY_DATETIME_FACTORY`). List columns (`role.permissions`, `user.mf_recovery_codes`,
//! `webauthn.transports`) are Flask-Security's `AsaList`: a comma-joined string in the database
//! and a `Vec<String>` here (see [`asa_list_join`] and [`asa_list_split`]).

use time::{OffsetDateTime, PrimitiveDateTime};

/// The current time as naive UTC with microsecond precision: what Flask-Security's
/// `naive_utcnow` stores.
pub fn naive_utcnow() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    let micros = now.microsecond();
    let now = now.replace_microsecond(micros).unwrap_or(now);
    PrimitiveDateTime::new(now.date(), now.time())
}

/// A fresh random uniquifier: 32 lowercase hex characters, as Flask-Security's
/// `uuid.uuid4().hex`.
pub fn new_uniquifier() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Joins a list the way Flask-Security's `AsaList` stores it.
pub fn asa_list_join(items: &[String]) -> String {
    items.join(",")
}

/// Splits a stored `AsaList` value; `NULL` and the empty string give an empty list.
pub fn asa_list_split(value: Option<&str>) -> Vec<String> {
    match value {
        Some(v) if !v.is_empty() => v.split(',').map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A row of the `user` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Email address (unique, looked up case-insensitively).
    pub email: String,
    /// Optional username (unique, looked up case-insensitively).
    pub username: Option<String>,
    /// The stored password hash (passlib/PHC string), `None` for password-less accounts.
    pub password: Option<String>,
    /// Whether the account may sign in.
    pub active: bool,
    /// Session and token identity; rotated to sign the user out everywhere.
    pub fs_uniquifier: String,
    /// Optional separate identity for auth tokens (only when the column exists).
    pub fs_token_uniquifier: Option<String>,
    /// WebAuthn user handle (uuid4 hex).
    pub fs_webauthn_user_handle: Option<String>,
    /// When the email address was confirmed.
    pub confirmed_at: Option<PrimitiveDateTime>,
    /// Previous login time (login tracking).
    pub last_login_at: Option<PrimitiveDateTime>,
    /// Current login time (login tracking).
    pub current_login_at: Option<PrimitiveDateTime>,
    /// Previous login address (login tracking).
    pub last_login_ip: Option<String>,
    /// Current login address (login tracking).
    pub current_login_ip: Option<String>,
    /// Number of logins (login tracking).
    pub login_count: Option<i32>,
    /// Primary two-factor method.
    pub tf_primary_method: Option<String>,
    /// Encrypted TOTP secret for two-factor.
    pub tf_totp_secret: Option<String>,
    /// Phone number for SMS two-factor.
    pub tf_phone_number: Option<String>,
    /// JSON dict of unified sign-in TOTP secrets.
    pub us_totp_secrets: Option<String>,
    /// Phone number for unified sign-in (unique).
    pub us_phone_number: Option<String>,
    /// Multi-factor recovery codes.
    pub mf_recovery_codes: Vec<String>,
    /// Creation time.
    pub create_datetime: PrimitiveDateTime,
    /// Last update time.
    pub update_datetime: PrimitiveDateTime,
}

impl User {
    /// A row with only its identity set: active, no password, nothing confirmed, tracked or
    /// set up, both timestamps `at`. Fill in the rest with struct update syntax; used for
    /// test rows and for the stand-in user of equal-work (generic-response) paths.
    pub fn detached(
        id: i64,
        email: impl Into<String>,
        fs_uniquifier: impl Into<String>,
        at: PrimitiveDateTime,
    ) -> Self {
        Self {
            id,
            email: email.into(),
            username: None,
            password: None,
            active: true,
            fs_uniquifier: fs_uniquifier.into(),
            fs_token_uniquifier: None,
            fs_webauthn_user_handle: None,
            confirmed_at: None,
            last_login_at: None,
            current_login_at: None,
            last_login_ip: None,
            current_login_ip: None,
            login_count: None,
            tf_primary_method: None,
            tf_totp_secret: None,
            tf_phone_number: None,
            us_totp_secrets: None,
            us_phone_number: None,
            mf_recovery_codes: Vec::new(),
            create_datetime: at,
            update_datetime: at,
        }
    }

    /// Whether the user has confirmed their email address.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// What is needed to create a user; everything else starts empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    /// Email address.
    pub email: String,
    /// Optional username.
    pub username: Option<String>,
    /// The password hash (never a plain password).
    pub password_hash: Option<String>,
    /// Whether the account is active.
    pub active: bool,
    /// Confirmation time, if created already confirmed.
    pub confirmed_at: Option<PrimitiveDateTime>,
    /// Names of existing roles to grant.
    pub roles: Vec<String>,
}

/// A row of the `role` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Primary key.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Permissions granted by this role.
    pub permissions: Vec<String>,
    /// Last update time.
    pub update_datetime: PrimitiveDateTime,
}

/// What is needed to create a role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRole {
    /// Unique name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Permissions granted by this role.
    pub permissions: Vec<String>,
}

/// A row of the `webauthn` table: one registered WebAuthn credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAuthnCredential {
    /// Primary key.
    pub id: i64,
    /// Credential id (unique).
    pub credential_id: Vec<u8>,
    /// COSE public key.
    pub public_key: Vec<u8>,
    /// Last seen signature counter.
    pub sign_count: i64,
    /// Authenticator transports.
    pub transports: Vec<String>,
    /// Backup state flag.
    pub backup_state: bool,
    /// `single_device` or `multi_device`.
    pub device_type: String,
    /// JSON string of the registration extensions.
    pub extensions: Option<String>,
    /// Registration time.
    pub create_datetime: PrimitiveDateTime,
    /// Last use time.
    pub lastuse_datetime: PrimitiveDateTime,
    /// User-chosen name, unique per user.
    pub name: String,
    /// `first` or `secondary`.
    pub usage: String,
    /// Owning user.
    pub user_id: i64,
}

/// What is needed to store a new WebAuthn credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebAuthn {
    /// Credential id (unique).
    pub credential_id: Vec<u8>,
    /// COSE public key.
    pub public_key: Vec<u8>,
    /// Initial signature counter.
    pub sign_count: i64,
    /// Authenticator transports.
    pub transports: Vec<String>,
    /// Backup state flag.
    pub backup_state: bool,
    /// `single_device` or `multi_device`.
    pub device_type: String,
    /// JSON string of the registration extensions.
    pub extensions: Option<String>,
    /// User-chosen name.
    pub name: String,
    /// `first` or `secondary`.
    pub usage: String,
    /// Owning user.
    pub user_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asa_list_round_trip() {
        let v = vec!["a".to_owned(), "b-c".to_owned()];
        assert_eq!(asa_list_join(&v), "a,b-c");
        assert_eq!(asa_list_split(Some("a,b-c")), v);
        assert!(asa_list_split(Some("")).is_empty());
        assert!(asa_list_split(None).is_empty());
    }

    #[test]
    fn uniquifier_is_32_hex() {
        let u = new_uniquifier();
        assert_eq!(u.len(), 32);
        assert!(
            u.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(u, new_uniquifier());
    }
}
