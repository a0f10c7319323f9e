//! Per-route changes to the security headers: a handler returns a [`RouteHeaders`] as a
//! response part, or a route is wrapped in [`RouteHeaders::layer`]; the security-headers layer
//! then uses these values instead of the application-wide ones for that response.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::{IntoResponseParts, Response, ResponseParts};

use super::ContentSecurityPolicy;

/// Overrides for one route or response; unset fields keep the application-wide value.
///
/// # Example
/// ```
/// use axum::{Router, routing::get};
/// use rampart::headers::{ContentSecurityPolicy, RouteHeaders};
///
/// // A page that may be framed by the same origin, with a looser image policy.
/// let embed = RouteHeaders::new()
///     .frame_options(Some("SAMEORIGIN"))
///     .csp(Some(ContentSecurityPolicy::strict()
///         .directive("frame-ancestors", ["'self'"])
///         .directive("img-src", ["*"])));
/// let app: Router = Router::new()
///     .route("/embed", get(|| async { "framed" }).layer(embed.layer()))
///     // … or from the handler itself:
///     .route("/report", get(|| async {
///         (RouteHeaders::new().referrer_policy(Some("no-referrer")), "report")
///     }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct RouteHeaders {
    pub(crate) csp: Option<Option<ContentSecurityPolicy>>,
    pub(crate) frame_options: Option<Option<String>>,
    pub(crate) referrer_policy: Option<Option<String>>,
    pub(crate) permissions_policy: Option<Option<String>>,
    pub(crate) cross_origin_opener_policy: Option<Option<String>>,
}

impl RouteHeaders {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// This CSP instead of the application's (`None`: no CSP on this route).
    pub fn csp(mut self, csp: Option<ContentSecurityPolicy>) -> Self {
        self.csp = Some(csp);
        self
    }

    /// `X-Frame-Options` (`None`: not sent).
    pub fn frame_options(mut self, value: Option<&str>) -> Self {
        self.frame_options = Some(value.map(str::to_owned));
        self
    }

    /// `Referrer-Policy` (`None`: not sent).
    pub fn referrer_policy(mut self, value: Option<&str>) -> Self {
        self.referrer_policy = Some(value.map(str::to_owned));
        self
    }

    /// `Permissions-Policy` (`None`: not sent).
    pub fn permissions_policy(mut self, value: Option<&str>) -> Self {
        self.permissions_policy = Some(value.map(str::to_owned));
        self
    }

    /// `Cross-Origin-Opener-Policy` (`None`: not sent).
    pub fn cross_origin_opener_policy(mut self, value: Option<&str>) -> Self {
        self.cross_origin_opener_policy = Some(value.map(str::to_owned));
        self
    }

    /// A layer for a route or router that applies these overrides to its responses.
    pub fn layer(self) -> RouteHeadersLayer {
        RouteHeadersLayer(self)
    }
}

impl IntoResponseParts for RouteHeaders {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// The layer of [`RouteHeaders::layer`].
#[derive(Debug, Clone)]
pub struct RouteHeadersLayer(RouteHeaders);

impl<S> tower::Layer<S> for RouteHeadersLayer {
    type Service = RouteHeadersService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RouteHeadersService {
            inner,
            overrides: self.0.clone(),
        }
    }
}

/// The service of [`RouteHeadersLayer`].
#[derive(Debug, Clone)]
pub struct RouteHeadersService<S> {
    inner: S,
    overrides: RouteHeaders,
}

impl<S, B> tower::Service<axum::http::Request<B>> for RouteHeadersService<S>
where
    S: tower::Service<axum::http::Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let future = self.inner.call(req);
        let overrides = self.overrides.clone();
        Box::pin(async move {
            let mut response = future.await?;
            // A handler's own RouteHeaders wins over the route's.
            if response.extensions().get::<RouteHeaders>().is_none() {
                response.extensions_mut().insert(overrides);
            }
            Ok(response)
        })
    }
}
