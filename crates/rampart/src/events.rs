//! Flask-Security's signals as typed events.
//!
//! Views publish an [`Event`] and go on: delivery never slows a request. Subscribers either
//! take a [`Receiver`](tokio::sync::broadcast::Receiver) and read it in their own task, or
//! register a callback with [`Events::on`], which Rampart runs on a task of its own. A slow
//! subscriber that falls more than [`CAPACITY`] events behind misses the oldest ones (and is
//! told how many, through `RecvError::Lagged`); it never holds the server up.
//!
//! # Example
//! ```no_run
//! # fn f(security: &rampart::Security) {
//! use rampart::events::Event;
//! security.events().on(|event| {
//!     if let Event::PasswordChanged { user_id, .. } = event {
//!         tracing::info!(user_id, "audit: password changed");
//!     }
//! });
//! # }
//! ```

use tokio::sync::broadcast;

/// Events kept for a subscriber that is behind.
pub const CAPACITY: usize = 1024;

/// What happened. Field names follow Flask-Security's signal arguments; users are given by
/// id and email (never a password, token or link).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `user_registered`: a new account.
    UserRegistered {
        /// The user's id.
        user_id: i64,
        /// The address it registered.
        email: String,
        /// Whether a confirmation email was sent.
        confirmation_sent: bool,
    },
    /// `user_not_registered` (generic responses): the address or username was taken.
    UserNotRegistered {
        /// The existing account's id, if the email matched one.
        existing_user_id: Option<i64>,
    },
    /// `user_confirmed`.
    UserConfirmed {
        /// The user's id.
        user_id: i64,
    },
    /// `confirm_instructions_sent`.
    ConfirmInstructionsSent {
        /// The user's id.
        user_id: i64,
    },
    /// `reset_password_instructions_sent`.
    ResetPasswordInstructionsSent {
        /// The user's id.
        user_id: i64,
    },
    /// `password_reset`.
    PasswordReset {
        /// The user's id.
        user_id: i64,
    },
    /// `password_changed`.
    PasswordChanged {
        /// The user's id.
        user_id: i64,
    },
    /// `change_email_instructions_sent`.
    ChangeEmailInstructionsSent {
        /// The user's id.
        user_id: i64,
        /// The requested address.
        new_email: String,
    },
    /// `change_email_confirmed`.
    ChangeEmailConfirmed {
        /// The user's id.
        user_id: i64,
        /// The address before the change.
        old_email: String,
    },
    /// `username_changed`.
    UsernameChanged {
        /// The user's id.
        user_id: i64,
        /// The username before the change.
        old_username: Option<String>,
    },
    /// `user_authenticated`: a login by password, confirmation, registration …
    UserAuthenticated {
        /// The user's id.
        user_id: i64,
        /// How (`password`, `register`, `confirm`, `reset`, …), as Flask-Security's
        /// `authn_via`.
        authn_via: String,
    },
    /// `user_failed_authn`.
    UserFailedAuthn {
        /// The user's id, when the identity matched an account.
        user_id: Option<i64>,
    },
    /// `tf_code_confirmed`: a second factor succeeded at sign-in.
    TfCodeConfirmed {
        /// The user's id.
        user_id: i64,
        /// `authenticator`, `email`, `sms`, `recovery_code`, `webauthn`.
        method: String,
    },
    /// `tf_profile_changed`: a two-factor method was set up or changed.
    TfProfileChanged {
        /// The user's id.
        user_id: i64,
        /// The new method.
        method: String,
    },
    /// `tf_disabled`: two-factor was turned off.
    TfDisabled {
        /// The user's id.
        user_id: i64,
    },
    /// `us_profile_changed`: a unified sign-in method was set up or removed.
    UsProfileChanged {
        /// The user's id.
        user_id: i64,
        /// The methods now active.
        methods: Vec<String>,
    },
    /// `user_logged_out` (Flask-Login's signal).
    UserLoggedOut {
        /// The user's id.
        user_id: i64,
    },
    /// `wan_registered`: a passkey was registered.
    WanRegistered {
        /// The user's id.
        user_id: i64,
        /// The passkey's nickname.
        name: String,
    },
    /// `wan_deleted`: a passkey was deleted.
    WanDeleted {
        /// The user's id.
        user_id: i64,
        /// The passkey's nickname.
        name: String,
    },
}

/// The event hub; cheap to clone.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self { tx }
    }
}

impl Events {
    /// A new receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Runs `f` for each event on a task of its own (call inside a Tokio runtime).
    pub fn on(&self, f: impl Fn(&Event) + Send + Sync + 'static) {
        let mut rx = self.subscribe();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => f(&event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "event subscriber fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    /// Publishes an event; never waits (without subscribers it is dropped).
    pub fn emit(&self, event: Event) {
        let _ = self.tx.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_events_and_emit_never_blocks() {
        let events = Events::default();
        events.emit(Event::PasswordChanged { user_id: 0 });
        let mut rx = events.subscribe();
        for i in 0..(CAPACITY as i64 + 10) {
            events.emit(Event::PasswordChanged { user_id: i });
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(10))
        ));
        assert_eq!(
            rx.recv().await.ok(),
            Some(Event::PasswordChanged { user_id: 10 })
        );
        let (tx, mut got) = tokio::sync::mpsc::unbounded_channel();
        events.on(move |e| {
            let _ = tx.send(e.clone());
        });
        events.emit(Event::UserConfirmed { user_id: 7 });
        assert_eq!(got.recv().await, Some(Event::UserConfirmed { user_id: 7 }));
    }
}
