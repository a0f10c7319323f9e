//! Account administration shared by the admin CLI and the web views: creating users with
//! validated input, changing passwords, activating and deactivating, and resetting access
//! (Flask-Security's `reset_user_access`).

use std::sync::Arc;

use rampart_core::model::{NewRole, NewUser, Role, User, naive_utcnow, new_uniquifier};
use rampart_core::{DatastoreError, UserDatastore};
use rampart_password::PasswordEngine;

use crate::config::SecurityConfig;

/// One problem with a submitted field, with Flask-Security's message key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The form field (`email`, `username`, `password`).
    pub field: String,
    /// The `SECURITY_MSG_*` key without its prefix, e.g. `PASSWORD_INVALID_LENGTH`.
    pub key: String,
    /// The default English text.
    pub message: String,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Submitted values failed validation.
    #[error("{}", join_messages(.0))]
    Invalid(Vec<FieldError>),
    /// No user has that identity.
    #[error("user {0} does not exist")]
    UnknownUser(String),
    /// No role has that name.
    #[error("role {0} does not exist")]
    UnknownRole(String),
    /// The email, username or role name is taken.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The datastore failed.
    #[error(transparent)]
    Datastore(DatastoreError),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Password(String),
}

fn join_messages(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl FieldError {
    /// A field error with its message key and text.
    pub fn new(field: &str, key: &str, message: &str) -> Self {
        Self {
            field: field.to_owned(),
            key: key.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl From<DatastoreError> for AccountError {
    fn from(e: DatastoreError) -> Self {
        match e {
            DatastoreError::AlreadyExists { field } => Self::AlreadyExists(field),
            other => Self::Datastore(other),
        }
    }
}

/// What an administrator supplies to create a user.
#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    /// Email address.
    pub email: String,
    /// Optional username.
    pub username: Option<String>,
    /// The plain password (validated and hashed here).
    pub password: String,
    /// Names of existing roles to grant.
    pub roles: Vec<String>,
    /// Whether the account can sign in.
    pub active: bool,
    /// Whether to mark the email as confirmed.
    pub confirmed: bool,
}

/// Account operations over a datastore and the password engine.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn UserDatastore>,
    passwords: PasswordEngine,
    config: Arc<SecurityConfig>,
}

impl Accounts {
    /// Builds the service.
    pub fn new(
        store: Arc<dyn UserDatastore>,
        passwords: PasswordEngine,
        config: Arc<SecurityConfig>,
    ) -> Self {
        Self {
            store,
            passwords,
            config,
        }
    }

    /// The datastore.
    pub fn store(&self) -> &Arc<dyn UserDatastore> {
        &self.store
    }

    /// The password engine.
    pub fn passwords(&self) -> &PasswordEngine {
        &self.passwords
    }

    /// Finds a user by email or (when enabled) username, case-insensitively.
    ///
    /// # Errors
    /// [`AccountError::UnknownUser`] when nobody has that identity.
    pub async fn find(&self, identity: &str) -> Result<User, AccountError> {
        if let Some(u) = self.store.find_user_by_email(identity.trim()).await? {
            return Ok(u);
        }
        if let Some(u) = self.store.find_user_by_username(identity.trim()).await? {
            return Ok(u);
        }
        Err(AccountError::UnknownUser(identity.to_owned()))
    }

    /// Validates the input as registration would, then creates the user.
    ///
    /// # Errors
    /// [`AccountError::Invalid`] for a bad email, username or password,
    /// [`AccountError::AlreadyExists`], [`AccountError::UnknownRole`].
    pub async fn create_user(&self, input: CreateUser) -> Result<User, AccountError> {
        let email = normalize_email(&input.email).ok_or_else(invalid_email)?;
        let username = match &input.username {
            Some(u) => Some(self.check_username(u)?),
            None => None,
        };
        let mut inputs = vec![email.as_str()];
        inputs.extend(username.as_deref());
        self.check_password(&input.password, &inputs).await?;
        for role in &input.roles {
            if self.store.find_role(role).await?.is_none() {
                return Err(AccountError::UnknownRole(role.clone()));
            }
        }
        let hash = self.hash(&input.password).await?;
        let new = NewUser {
            email,
            username,
            password_hash: Some(hash),
            active: input.active,
            confirmed_at: input.confirmed.then(naive_utcnow),
            roles: input.roles,
        };
        Ok(self.store.create_user(new).await?)
    }

    /// Validates and sets a new password, rotating `fs_uniquifier` (and `fs_token_uniquifier`
    /// where the column exists) so that every session, remember-me cookie and token of the user
    /// dies. Flask-Security keeps tokens alive across a password change when the token column
    /// exists; Rampart deliberately does not.
    ///
    /// # Errors
    /// [`AccountError::Invalid`] for a password that fails the policy.
    pub async fn change_password(&self, user: &User, password: &str) -> Result<User, AccountError> {
        let mut inputs = vec![user.email.as_str()];
        inputs.extend(user.username.as_deref());
        self.check_password(password, &inputs).await?;
        let mut updated = user.clone();
        updated.password = Some(self.hash(password).await?);
        updated.fs_uniquifier = new_uniquifier();
        if self.store.has_token_uniquifier() {
            updated.fs_token_uniquifier = Some(new_uniquifier());
        }
        Ok(self.store.update_user(&updated).await?)
    }

    /// Activates or deactivates an account; returns whether anything changed.
    ///
    /// # Errors
    /// Datastore failures.
    pub async fn set_active(&self, user: &User, active: bool) -> Result<bool, AccountError> {
        if user.active == active {
            return Ok(false);
        }
        let mut updated = user.clone();
        updated.active = active;
        self.store.update_user(&updated).await?;
        Ok(true)
    }

    /// Flask-Security's `reset_user_access`: rotates both uniquifiers (killing sessions,
    /// remember cookies and tokens), removes two-factor and unified sign-in secrets, WebAuthn
    /// credentials and recovery codes. The password is kept.
    ///
    /// # Errors
    /// Datastore failures.
    pub async fn reset_access(&self, user: &User) -> Result<User, AccountError> {
        for cred in self.store.webauthn_of(user.id).await? {
            self.store.delete_webauthn(cred.id).await?;
        }
        let mut u = user.clone();
        u.fs_uniquifier = new_uniquifier();
        if self.store.has_token_uniquifier() {
            u.fs_token_uniquifier = Some(new_uniquifier());
        }
        u.tf_primary_method = None;
        u.tf_totp_secret = None;
        u.tf_phone_number = None;
        u.us_totp_secrets = None;
        u.mf_recovery_codes.clear();
        Ok(self.store.update_user(&u).await?)
    }

    /// Creates a role.
    ///
    /// # Errors
    /// [`AccountError::AlreadyExists`] when the name is taken, [`AccountError::Invalid`] for an
    /// empty name or a permission containing a comma.
    pub async fn create_role(&self, new: NewRole) -> Result<Role, AccountError> {
        let name = new.name.trim();
        if name.is_empty() || name.len() > 80 {
            return Err(field_error(
                "name",
                "INVALID_ROLE_NAME",
                "Role name must be 1 to 80 characters.",
            ));
        }
        check_permissions(&new.permissions)?;
        Ok(self
            .store
            .create_role(NewRole {
                name: name.to_owned(),
                ..new
            })
            .await?)
    }

    /// Adds and removes permissions of a role.
    ///
    /// # Errors
    /// [`AccountError::UnknownRole`], or [`AccountError::Invalid`] for an empty permission or
    /// one containing a comma (the stored list is comma-separated).
    pub async fn edit_permissions(
        &self,
        name: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Role, AccountError> {
        check_permissions(add)?;
        let mut role = self
            .store
            .find_role(name)
            .await?
            .ok_or_else(|| AccountError::UnknownRole(name.to_owned()))?;
        role.permissions.retain(|p| !remove.contains(p));
        for p in add {
            if !role.permissions.contains(p) {
                role.permissions.push(p.clone());
            }
        }
        Ok(self.store.update_role(&role).await?)
    }

    fn check_username(&self, raw: &str) -> Result<String, AccountError> {
        use unicode_normalization::UnicodeNormalization;
        let name: String = raw.trim().nfkd().collect();
        let n = name.chars().count();
        let (min, max) = (
            self.config.username_min_length,
            self.config.username_max_length,
        );
        if n < min || n > max {
            return Err(field_error(
                "username",
                "USERNAME_INVALID_LENGTH",
                &format!(
                    "Username must be at least {min} characters and less than {max} characters"
                ),
            ));
        }
        if !name.chars().all(char::is_alphanumeric) {
            return Err(field_error(
                "username",
                "USERNAME_DISALLOWED_CHARACTERS",
                "Username can contain only letters and numbers",
            ));
        }
        Ok(name)
    }

    async fn check_password(&self, password: &str, inputs: &[&str]) -> Result<(), AccountError> {
        self.passwords
            .validate(password, inputs)
            .await
            .map_err(|issues| {
                AccountError::Invalid(
                    issues
                        .into_iter()
                        .map(|i| FieldError {
                            field: "password".to_owned(),
                            key: i.key.to_string(),
                            message: i.message,
                        })
                        .collect(),
                )
            })
    }

    async fn hash(&self, password: &str) -> Result<String, AccountError> {
        self.passwords
            .hash(password)
            .await
            .map_err(|e| AccountError::Password(e.to_string()))
    }
}

fn field_error(field: &str, key: &str, message: &str) -> AccountError {
    AccountError::Invalid(vec![FieldError::new(field, key, message)])
}

fn invalid_email() -> AccountError {
    field_error("email", "INVALID_EMAIL_ADDRESS", "Invalid email address")
}

fn check_permissions(perms: &[String]) -> Result<(), AccountError> {
    if perms.iter().any(|p| p.contains(',') || p.trim().is_empty()) {
        return Err(field_error(
            "permissions",
            "INVALID_PERMISSION",
            "Permissions must be non-empty and contain no comma.",
        ));
    }
    Ok(())
}

/// Checks an email address's syntax (no DNS look-up: Rampart's deliberate default) and
/// normalizes it as Flask-Security's `email_validator` does for the parts that matter here:
/// surrounding space removed and the domain lower-cased.
pub fn normalize_email(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.len() > 254 || !email_address::EmailAddress::is_valid(trimmed) {
        return None;
    }
    let (local, domain) = trimmed.rsplit_once('@')?;
    if !domain.contains('.') && domain != "localhost" {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for (input, want) in [
            ("User@Example.COM", Some("User@example.com")),
            ("  a@b.co ", Some("a@b.co")),
            ("no-at-sign", None),
            ("a@b", None),
            ("a@@b.com", None),
            ("", None),
            ("a b@c.com", None),
        ] {
            assert_eq!(normalize_email(input).as_deref(), want, "{input:?}");
        }
    }
}
