//! The composed entry point: [`Security`] holds the configuration and services, adds
//! Rampart's endpoints to an application's router and the layer stack in the right order.
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use rampart::{Security, SecurityConfig, extract::AuthRequired};
//! use rampart::sql::{SqlDatastore, SqlOptions};
//!
//! async fn me(user: AuthRequired) -> String {
//!     user.email.clone()
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqlDatastore::connect("sqlite://app.db", SqlOptions::default()).await?;
//! let config = SecurityConfig::load(None)?.config;
//! let security = Security::builder(config, Arc::new(store.clone()), store.session_store()).build()?;
//! let app = security.install(Router::new().route("/me", get(me)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```

mod builder;
pub mod handlers;
mod service;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use rampart_core::UserDatastore;
use rampart_core::model::User;
use rampart_password::PasswordEngine;
use tower_http::set_header::SetResponseHeaderLayer;

pub use builder::{BuildError, SecurityBuilder};
pub use handlers::{UnauthnContext, UnauthnHandler, UnauthzContext, UnauthzHandler};

use crate::config::SecurityConfig;
use crate::csrf::CsrfTokens;
use crate::session::DynSessionStore;
use crate::tokens::AuthTokens;

/// Per-user token expiry (`SECURITY_TOKEN_EXPIRE_TIMESTAMP`): an epoch second, or `None`.
pub type TokenExpiry = Arc<dyn Fn(&User) -> Option<i64> + Send + Sync>;

/// Rampart's configuration and services, cheap to clone.
#[derive(Clone)]
pub struct Security {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: SecurityConfig,
    pub(crate) store: Arc<dyn UserDatastore>,
    pub(crate) passwords: PasswordEngine,
    pub(crate) tokens: AuthTokens,
    pub(crate) csrf: CsrfTokens,
    pub(crate) sessions: DynSessionStore,
    pub(crate) remember: crate::authn::remember::RememberCookie,
    pub(crate) unauthn: Option<UnauthnHandler>,
    pub(crate) unauthz: Option<UnauthzHandler>,
    pub(crate) token_expiry: Option<TokenExpiry>,
    pub(crate) headers: Option<crate::headers::SecurityHeaders>,
    pub(crate) throttle: crate::throttle::Throttle,
    pub(crate) lifecycle: crate::lifecycle::Lifecycle,
    pub(crate) mfa: crate::two_factor::Services,
    pub(crate) pages: crate::pages::Pages,
    pub(crate) webauthn: Option<Arc<crate::webauthn::WebAuthn>>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// axum's own body limit for extractors when no `DefaultBodyLimit` is set (2 MB).
const AXUM_DEFAULT_BODY_LIMIT: usize = 2_097_152;

impl Security {
    /// Starts building: configuration, user datastore and session store.
    pub fn builder(
        config: SecurityConfig,
        store: Arc<dyn UserDatastore>,
        sessions: impl tower_sessions::SessionStore,
    ) -> SecurityBuilder {
        SecurityBuilder::new(config, store, DynSessionStore::new(sessions))
    }

    /// The configuration.
    pub fn config(&self) -> &SecurityConfig {
        &self.inner.config
    }

    /// The user datastore.
    pub fn store(&self) -> &Arc<dyn UserDatastore> {
        &self.inner.store
    }

    /// The password engine.
    pub fn passwords(&self) -> &PasswordEngine {
        &self.inner.passwords
    }

    /// The auth-token codec.
    pub fn tokens(&self) -> &AuthTokens {
        &self.inner.tokens
    }

    /// The throttle of logins, reset requests and code checks (see [`crate::throttle`]).
    pub fn throttle(&self) -> &crate::throttle::Throttle {
        &self.inner.throttle
    }

    /// The account-lifecycle services: links, mail queue, events and messages.
    pub fn lifecycle(&self) -> &crate::lifecycle::Lifecycle {
        &self.inner.lifecycle
    }

    /// Flask-Security's signals as typed events (see [`crate::events`]).
    pub fn events(&self) -> &crate::events::Events {
        &self.inner.lifecycle.events
    }

    /// The page templates and what they need from the configuration (see [`crate::pages`]).
    pub fn pages(&self) -> &crate::pages::Pages {
        &self.inner.pages
    }

    /// The message texts with the configuration's `SECURITY_MSG_*` overrides.
    pub fn messages(&self) -> &crate::messages::Messages {
        &self.inner.lifecycle.messages
    }

    /// The OpenAPI descriptions of the endpoints [`Security::install`] mounts with this
    /// configuration (see [`crate::openapi`]).
    #[must_use]
    pub fn operations(&self) -> Vec<crate::openapi::Operation> {
        crate::views::routes(self).into_parts().1
    }

    /// Adds Rampart's endpoints (`/login`, `/logout`, `/verify`) to `app` and wraps everything
    /// in the security layers: the security headers outermost (so every response, errors and
    /// handler panics included, carries them), the session manager, the CSRF cookie layer when
    /// `SECURITY_CSRF_COOKIE_NAME` is set, then the authentication layer that refuses
    /// cross-site requests (`SECURITY_CSRF_CROSS_SITE_CHECK`) and reads tokens, remember-me
    /// cookies and client addresses. Serve the result with
    /// `into_make_service_with_connect_info::<SocketAddr>()` so login tracking sees the peer
    /// address.
    ///
    /// The layers wrap each route (axum's [`Router::layer`]), so routes added to the result
    /// afterwards are not protected; [`Security::wrap`] puts them around the finished
    /// application instead, and costs less per request.
    pub fn install<S: Clone + Send + Sync + 'static>(&self, app: Router<S>) -> Router<S> {
        self.mount(app).layer(service::SecurityLayer::new(self))
    }

    /// The same as [`Security::install`], with the security layers around the finished
    /// application as one service rather than around each of its routes. Every request, for
    /// any route or none, passes them; nothing can be routed past them later, and a request
    /// costs one boxed service call less (3 allocations and about 360 instructions of the 27k
    /// of a token request, measured with callgrind).
    ///
    /// Layers of the application go on `app` before the call (they then see the request after
    /// the security layers) or around the returned service (before them). A `Router::layer`
    /// on `app` reaches only the application's routes, not the endpoints this call adds.
    ///
    /// Serve it with [`axum::ServiceExt::into_make_service_with_connect_info`] so login
    /// tracking sees the peer address:
    /// ```no_run
    /// # async fn run(security: rampart::Security, app: axum::Router) -> std::io::Result<()> {
    /// use axum::ServiceExt as _;
    /// let app = security.wrap(app.with_state(()));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    /// axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
    ///     .await
    /// # }
    /// ```
    pub fn wrap(&self, app: Router) -> Secured {
        use tower::Layer as _;
        Secured(service::SecurityLayer::new(self).layer(self.mount(app)))
    }

    /// `app` with Rampart's endpoints and static files, and axum's body limit raised to
    /// `SECURITY_MAX_BODY_SIZE`.
    fn mount<S: Clone + Send + Sync + 'static>(&self, app: Router<S>) -> Router<S> {
        let (endpoints, _) = crate::views::routes(self).into_parts();
        let endpoints = endpoints.layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ));
        let files = crate::static_files::routes(&self.config().pages.static_folder_url);
        let app = app.merge(endpoints.merge(files).with_state(()));
        let limit = self.config().max_body_size;
        if limit > AXUM_DEFAULT_BODY_LIMIT {
            // The handlers' extractors (`Bytes`, `Json`, `Form`) read to the same limit as the
            // security layer, not to axum's own 2 MB default. Only then: a smaller limit is
            // enforced by the security layer already, and one more layer around every route
            // costs every request a box and a call (1.5k instructions on the token path).
            return app.layer(axum::extract::DefaultBodyLimit::max(limit));
        }
        app
    }
}

/// An application with the security layers around it ([`Security::wrap`]): a tower service
/// to serve, like a [`Router`].
#[derive(Clone)]
pub struct Secured(service::SecurityService<Router>);

impl std::fmt::Debug for Secured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secured").finish_non_exhaustive()
    }
}

impl tower::Service<axum::extract::Request> for Secured {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        self.0.call(req)
    }
}
