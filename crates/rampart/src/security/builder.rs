//! Building a [`Security`]: configuration errors are found here, never at request time.

use std::sync::Arc;

use axum::response::Response;
use rampart_core::UserDatastore;
use rampart_core::model::User;
use rampart_core::signing::SecretKeys;
use rampart_password::PasswordEngine;

use super::{Inner, Security, UnauthnContext, UnauthzContext};
use crate::authn::remember::RememberCookie;
use crate::config::SecurityConfig;
use crate::csrf::CsrfTokens;
use crate::session::DynSessionStore;
use crate::tokens::AuthTokens;

/// Why a [`Security`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `SECRET_KEY` is missing or empty.
    #[error("SECRET_KEY must be set: it signs tokens, CSRF tokens and remember-me cookies")]
    MissingSecretKey,
    /// A feature that sends email is on, but no mailer was given.
    #[error("{0} sends email: give the builder a mailer (SecurityBuilder::mailer)")]
    MissingMailer(&'static str),
    /// A feature that emails links is on, but `SERVER_NAME` is not set.
    #[error("{0} emails links: set SERVER_NAME (links are never built from the request's Host)")]
    MissingServerName(&'static str),
    /// Two-factor or unified sign-in is on without `SECURITY_TOTP_SECRETS` or
    /// `SECURITY_TOTP_ISSUER` (Flask-Security requires both too).
    #[error("{0} needs SECURITY_TOTP_SECRETS and SECURITY_TOTP_ISSUER")]
    MissingTotpSecrets(&'static str),
    /// The email templates could not be loaded.
    #[error(transparent)]
    Templates(#[from] crate::mail::TemplateError),
    /// The page templates could not be loaded (`SECURITY_TEMPLATE_DIR`, an override).
    #[error(transparent)]
    Pages(#[from] crate::pages::PageError),
    /// WebAuthn is on but its relying party is not configured.
    #[error(transparent)]
    WebAuthn(#[from] crate::webauthn::SetupError),
    /// The password settings are invalid.
    #[error("{key}: {message}")]
    Password {
        /// The key at fault.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Builder of [`Security`]; see [`Security::builder`].
#[must_use]
pub struct SecurityBuilder {
    config: SecurityConfig,
    store: Arc<dyn UserDatastore>,
    sessions: DynSessionStore,
    unauthn: Option<super::UnauthnHandler>,
    unauthz: Option<super::UnauthzHandler>,
    token_expiry: Option<super::TokenExpiry>,
    headers: Option<Option<crate::headers::SecurityHeaders>>,
    throttle_store: Option<Arc<dyn crate::throttle::ThrottleStore>>,
    throttle_clock: Option<Arc<dyn crate::throttle::Clock>>,
    mail: Option<crate::mail::MailQueue>,
    templates: Option<crate::mail::Templates>,
    translator: Option<Arc<dyn crate::messages::Translate>>,
    sms: Option<Arc<dyn crate::two_factor::SmsSender>>,
    pages: crate::pages::PageTemplates,
    page_error: Option<crate::pages::PageError>,
}

impl SecurityBuilder {
    pub(crate) fn new(
        config: SecurityConfig,
        store: Arc<dyn UserDatastore>,
        sessions: DynSessionStore,
    ) -> Self {
        Self {
            config,
            store,
            sessions,
            unauthn: None,
            unauthz: None,
            token_expiry: None,
            headers: None,
            throttle_store: None,
            throttle_clock: None,
            mail: None,
            templates: None,
            translator: None,
            sms: None,
            pages: crate::pages::PageTemplates::default(),
            page_error: None,
        }
    }

    /// The sender of SMS codes (two-factor and unified sign-in); by default
    /// [`LogSmsSender`](crate::two_factor::LogSmsSender), for development only.
    pub fn sms_sender(mut self, sender: Arc<dyn crate::two_factor::SmsSender>) -> Self {
        self.sms = Some(sender);
        self
    }

    /// Where the throttle keeps its counters: `SqlDatastore::throttle_store()` (the
    /// database), a [`RedisThrottleStore`](crate::throttle::RedisThrottleStore) (shared by
    /// several instances), or by default this process's memory.
    pub fn throttle_store(mut self, store: Arc<dyn crate::throttle::ThrottleStore>) -> Self {
        self.throttle_store = Some(store);
        self
    }

    /// The throttle's clock (tests; the system clock by default).
    pub fn throttle_clock(mut self, clock: Arc<dyn crate::throttle::Clock>) -> Self {
        self.throttle_clock = Some(clock);
        self
    }

    /// The mailer of the account emails, behind a background queue with default options.
    pub fn mailer(self, mailer: Arc<dyn crate::mail::Mailer>) -> Self {
        self.mail_queue(crate::mail::MailQueue::new(
            mailer,
            crate::mail::QueueOptions::default(),
        ))
    }

    /// The mail queue of the account emails (a mailer with chosen queue options).
    pub fn mail_queue(mut self, queue: crate::mail::MailQueue) -> Self {
        self.mail = Some(queue);
        self
    }

    /// Replaces the email templates (by default Rampart's, overridden from
    /// `SECURITY_EMAIL_TEMPLATE_DIR` and the subject keys).
    pub fn email_templates(mut self, templates: crate::mail::Templates) -> Self {
        self.templates = Some(templates);
        self
    }

    /// Replaces the whole set of page templates (by default Rampart's, see
    /// [`crate::pages`]); `SECURITY_TEMPLATE_DIR` still applies on top.
    pub fn page_templates(mut self, templates: crate::pages::PageTemplates) -> Self {
        self.pages = templates;
        self
    }

    /// Adds or replaces one page template (`security/login_user.html`, or an application
    /// page such as `demo/index.html`). A source that does not compile fails
    /// [`build`](Self::build).
    pub fn page_template(mut self, name: &str, source: &str) -> Self {
        match self.pages.clone().with_template(name, source) {
            Ok(t) => self.pages = t,
            Err(e) => self.page_error = Some(e),
        }
        self
    }

    /// Translates message texts (after the `SECURITY_MSG_*` overrides).
    pub fn translator(mut self, t: Arc<dyn crate::messages::Translate>) -> Self {
        self.translator = Some(t);
        self
    }

    /// Replaces the security headers of the configuration (on by default with
    /// [`SecurityHeaders::default`], see [`crate::headers`]), or turns them off with `None`
    /// when a proxy sets them.
    ///
    /// [`SecurityHeaders::default`]: crate::headers::SecurityHeaders
    pub fn security_headers(mut self, headers: Option<crate::headers::SecurityHeaders>) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Replaces the answer to unauthenticated requests (Flask-Security's
    /// `Security.unauthn_handler`).
    pub fn unauthn_handler(
        mut self,
        f: impl Fn(&UnauthnContext) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.unauthn = Some(Arc::new(f));
        self
    }

    /// Replaces the answer to role and permission failures (Flask-Security's
    /// `Security.unauthz_handler`).
    ///
    /// # Example
    /// The custom-403 pattern of Flask-Security's "Security Patterns":
    /// ```
    /// # fn f(b: rampart::security::SecurityBuilder) -> rampart::security::SecurityBuilder {
    /// use axum::{Json, http::StatusCode, response::IntoResponse};
    /// b.unauthz_handler(|_| {
    ///     let body = serde_json::json!({"status": 403, "msgs": ["Not permitted with your privileges"]});
    ///     (StatusCode::FORBIDDEN, Json(body)).into_response()
    /// })
    /// # }
    /// ```
    pub fn unauthz_handler(
        mut self,
        f: impl Fn(&UnauthzContext) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.unauthz = Some(Arc::new(f));
        self
    }

    /// Per-user token expiry (`SECURITY_TOKEN_EXPIRE_TIMESTAMP`): the epoch second written in
    /// the token's `exp`, or `None` for no per-user limit.
    pub fn token_expire_timestamp(
        mut self,
        f: impl Fn(&User) -> Option<i64> + Send + Sync + 'static,
    ) -> Self {
        self.token_expiry = Some(Arc::new(f));
        self
    }

    /// Checks the configuration and builds.
    ///
    /// # Errors
    /// [`BuildError`] naming what is wrong.
    pub fn build(self) -> Result<Security, BuildError> {
        let c = &self.config;
        let secret = c.secret_key.as_ref().ok_or(BuildError::MissingSecretKey)?;
        let keys = SecretKeys::new(secret.expose())
            .and_then(|k| k.with_fallbacks(c.secret_key_fallbacks.iter().map(|s| s.expose())))
            .map_err(|_| BuildError::MissingSecretKey)?;
        let passwords =
            PasswordEngine::new(c.password.clone()).map_err(|e| BuildError::Password {
                key: e.key(),
                message: e.to_string(),
            })?;
        let max_age = u64::try_from(c.token_max_age_secs).unwrap_or(1).max(1);
        let ttl = std::time::Duration::from_secs(u64::try_from(c.auth_cache_ttl_secs).unwrap_or(0));
        let tokens = AuthTokens::new(keys.clone())
            .with_max_age(Some(std::time::Duration::from_secs(max_age)))
            .with_verified_cache(ttl);
        let remember = RememberCookie::new(secret.expose(), c.session_cookie_secure)
            .with_fallbacks(c.secret_key_fallbacks.iter().map(|s| s.expose()));
        let store: Arc<dyn UserDatastore> = if ttl.is_zero() {
            self.store
        } else {
            Arc::new(rampart_core::cache::CachedDatastore::new(self.store, ttl))
        };
        let sessions = self.sessions.with_cache(ttl);
        let throttle = crate::throttle::Throttle::with_clock(
            c.throttle.clone(),
            self.throttle_store
                .unwrap_or_else(|| Arc::new(crate::throttle::MemoryThrottleStore::default())),
            self.throttle_clock
                .unwrap_or_else(|| Arc::new(crate::throttle::SystemClock)),
        );
        if let Some(e) = self.page_error {
            return Err(e.into());
        }
        let templates = match &c.pages.template_dir {
            Some(dir) => self.pages.with_dir(dir)?,
            None => self.pages,
        };
        let pages = crate::pages::Pages::new(c, templates);
        let lifecycle = lifecycle_services(
            c,
            keys.clone(),
            secret.expose(),
            self.mail,
            self.templates,
            self.translator,
        )?;
        let mfa = mfa_services(c, &keys, secret.expose(), self.sms)?;
        let webauthn = if c.webauthn {
            let w = crate::webauthn::WebAuthn::new(c, keys.clone())?;
            Some(Arc::new(w))
        } else {
            None
        };
        Ok(Security {
            inner: Arc::new(Inner {
                mfa,
                webauthn,
                csrf: CsrfTokens::new(keys),
                tokens,
                passwords,
                remember,
                store,
                sessions,
                unauthn: self.unauthn,
                unauthz: self.unauthz,
                token_expiry: self.token_expiry,
                throttle,
                lifecycle,
                pages,
                headers: self
                    .headers
                    .unwrap_or_else(|| self.config.headers.clone())
                    .map(|mut h| {
                        h.server_name = h
                            .server_name
                            .or_else(|| self.config.redirect.server_name.clone());
                        h.with_trusted_proxies(self.config.trusted_proxies)
                    }),
                config: self.config,
            }),
        })
    }
}

fn mfa_services(
    c: &SecurityConfig,
    keys: &SecretKeys,
    secret: &str,
    sms: Option<Arc<dyn crate::two_factor::SmsSender>>,
) -> Result<crate::two_factor::Services, BuildError> {
    use hmac::{KeyInit, Mac};
    let feature = if c.two_factor {
        Some("SECURITY_TWO_FACTOR")
    } else if c.unified_signin {
        Some("SECURITY_UNIFIED_SIGNIN")
    } else {
        None
    };
    if let Some(feature) = feature
        && (c.mfa.totp_secrets.is_empty() || c.mfa.totp_issuer.is_none())
    {
        return Err(BuildError::MissingTotpSecrets(feature));
    }
    let recovery_key = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .map(|mut m| {
            m.update(b"rampart-recovery-codes");
            m.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    Ok(crate::two_factor::Services {
        totp: crate::two_factor::TotpFactory::new(
            &c.mfa.totp_secrets,
            c.mfa.totp_issuer.as_deref().unwrap_or("Rampart"),
        ),
        tokens: crate::two_factor::state::StateTokens::new(
            rampart_core::signing::UrlSafeTimedSerializer::new(keys.clone()),
        ),
        sms: sms.unwrap_or_else(|| Arc::new(crate::two_factor::LogSmsSender)),
        recovery_key,
    })
}

/// The first enabled feature that sends email, if any.
fn mail_feature(c: &SecurityConfig) -> Option<&'static str> {
    [
        (c.registerable, "SECURITY_REGISTERABLE"),
        (c.confirmable, "SECURITY_CONFIRMABLE"),
        (c.recoverable, "SECURITY_RECOVERABLE"),
        (c.change_email, "SECURITY_CHANGE_EMAIL"),
        (
            c.two_factor
                && c.mfa
                    .two_factor_enabled_methods
                    .iter()
                    .any(|m| m == "email"),
            "SECURITY_TWO_FACTOR (with the email method)",
        ),
        (
            c.unified_signin && c.mfa.us_enabled_methods.iter().any(|m| m == "email"),
            "SECURITY_UNIFIED_SIGNIN (with the email method)",
        ),
        (
            c.changeable && c.lifecycle.send_password_change_email,
            "SECURITY_CHANGEABLE (with SECURITY_SEND_PASSWORD_CHANGE_EMAIL)",
        ),
        (
            c.username_enable
                && c.lifecycle.change_username
                && c.lifecycle.send_username_change_email,
            "SECURITY_CHANGE_USERNAME (with SECURITY_SEND_USERNAME_CHANGE_EMAIL)",
        ),
    ]
    .into_iter()
    .find_map(|(on, name)| on.then_some(name))
}

fn lifecycle_services(
    c: &SecurityConfig,
    keys: SecretKeys,
    secret: &str,
    mail: Option<crate::mail::MailQueue>,
    templates: Option<crate::mail::Templates>,
    translator: Option<Arc<dyn crate::messages::Translate>>,
) -> Result<crate::lifecycle::Lifecycle, BuildError> {
    let l = &c.lifecycle;
    if let Some(feature) = mail_feature(c) {
        if mail.is_none() {
            return Err(BuildError::MissingMailer(feature));
        }
        if l.server_name.is_none() {
            return Err(BuildError::MissingServerName(feature));
        }
    }
    let templates = match templates {
        Some(t) => t,
        None => {
            let mut t =
                crate::mail::Templates::default().with_bodies(l.email_plaintext, l.email_html);
            if let Some(dir) = &l.email_template_dir {
                t = t.with_dir(dir)?;
            }
            for kind in crate::mail::EmailKind::ALL {
                if let Some(subject) = l.email_subjects.get(kind.subject_key()) {
                    t = t.with_subject(kind, subject.clone());
                }
            }
            t
        }
    };
    let mut messages = crate::messages::Messages::new(l.messages.clone());
    if let Some(t) = translator {
        messages = messages.with_translator(t);
    }
    Ok(crate::lifecycle::Lifecycle {
        mail,
        templates,
        events: crate::events::Events::default(),
        messages,
        links: crate::lifecycle::links::LinkTokens::new(keys, secret)
            .with_fallbacks(c.secret_key_fallbacks.iter().map(|s| s.expose())),
        base_url: l.external_base(),
    })
}
