//! Who is calling, decided once per request before any route runs.
//!
//! A region proves identity: a client certificate registered to an
//! organisation (mutual TLS) or a bearer token from `POST /oauth/token`
//! ([`tokens`]). Every API route sits behind [`identify`], which refuses a
//! caller it cannot name with 401, so a route added later cannot forget to
//! authenticate. Handlers then take the caller as an extractor:
//! [`Requester`] (any organisation of the region), [`AuditReader`] or
//! [`ConsentRecorder`] (organisations whose registry entry grants the role;
//! 403 otherwise).
//!
//! The embedded demo region (and a loopback test region that sets
//! `server.unauthenticated_demo`) proves nothing: callers *name* their
//! organisation in `X-Zorgpoort-Requester`, listeners are loopback only, and
//! every response says it is a demo ([`mark_demo`]). There a call without the
//! header is anonymous: it may convert and send messages, never read what
//! the gateway holds about a patient.

pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use zorgpoort_handover::{Organization, Registry};

use crate::config::Config;
use crate::listeners::tls::Peer;
use crate::outcome::{ApiError, Problem};
pub use tokens::{KeyError, Tokens, token_endpoint};

/// Why a configuration would let callers in without proving who they are;
/// names the setting to change.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct Unauthenticated {
    /// The setting to change.
    pub setting: &'static str,
    /// Why the gateway refuses to start.
    pub reason: String,
}

/// How callers prove who they are, checked before anything is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `server.unauthenticated_demo`: the organisation named in a header.
    Demo,
    /// Mutual TLS, and bearer tokens over HTTP.
    Authenticated,
}

impl Mode {
    /// Refuses a configuration that would let callers in unproven: a region
    /// needs mutual TLS (MLLP has no other way to know its sender); only a
    /// demo, on loopback alone, goes without.
    pub fn of(config: &Config) -> Result<Self, Unauthenticated> {
        let server = &config.server;
        if let Some(ops) = server.ops.filter(|a| !a.ip().is_loopback()) {
            return Err(Unauthenticated {
                setting: "server.ops",
                reason: format!("the plaintext ops listener must be on loopback, not {ops}"),
            });
        }
        if server.unauthenticated_demo {
            let exposed = [("server.http", server.http), ("server.mllp", server.mllp)]
                .into_iter()
                .find(|(_, address)| !address.ip().is_loopback());
            if let Some((key, address)) = exposed {
                return Err(Unauthenticated {
                    setting: "server.unauthenticated_demo",
                    reason: format!(
                        "a demo region authenticates nobody and listens on loopback only, but {key} is {address}"
                    ),
                });
            }
            return Ok(Self::Demo);
        }
        let Some(tls) = &config.tls else {
            return Err(Unauthenticated {
                setting: "tls",
                reason: "a region authenticates every caller with mutual TLS: set [tls] certificate, private_key \
                         and client_ca (see docs/authentication.md); only a loopback demo may set \
                         server.unauthenticated_demo = true instead"
                    .into(),
            });
        };
        if tls.client_ca.is_none() {
            return Err(Unauthenticated {
                setting: "tls.client_ca",
                reason: "without a client CA nobody is authenticated: set the CA that the region's client \
                         certificates chain to (bearer tokens need it too, for MLLP senders)"
                    .into(),
            });
        }
        Ok(Self::Authenticated)
    }

    /// How callers of this region are identified; bearer tokens are keyed
    /// from `secret`, the region's audit key (the same on every replica),
    /// and client assertions are used once across the `store`.
    pub fn identify(
        self,
        registry: &Arc<Registry>,
        public_base_url: &str,
        secret: &zorgpoort_audit::chain::AuditKey,
        store: zorgpoort_store::AnyStore,
    ) -> Result<Identification, KeyError> {
        let registry = Arc::clone(registry);
        Ok(match self {
            Self::Demo => Identification::DemoHeader { registry },
            Self::Authenticated => {
                let tokens = Tokens::new(&registry, token_audience(public_base_url), secret, store)?;
                Identification::Required {
                    registry,
                    tokens: Arc::new(tokens),
                }
            }
        })
    }
}

/// The one audience a client assertion may name: this gateway's token
/// endpoint, beside its public FHIR base.
fn token_audience(public_base_url: &str) -> String {
    let base = public_base_url.trim_end_matches('/');
    let root = base.strip_suffix("/fhir").unwrap_or(base);
    format!("{root}/oauth/token")
}

/// The header a demo caller names its organisation in.
pub const DEMO_REQUESTER_HEADER: &str = "x-zorgpoort-requester";
/// The header every demo response carries.
pub const DEMO_HEADER: &str = "x-zorgpoort-demo";

/// How callers are identified; decided at start from the configuration.
pub enum Identification {
    /// Client certificates and bearer tokens; nobody else gets in.
    Required {
        /// The region's organisations.
        registry: Arc<Registry>,
        /// Issued bearer tokens.
        tokens: Arc<Tokens>,
    },
    /// The demo: the organisation named in `X-Zorgpoort-Requester`, unproven.
    DemoHeader {
        /// The region's organisations.
        registry: Arc<Registry>,
    },
}

impl Identification {
    /// Whether this is the demo's unproven identification.
    pub fn is_demo(&self) -> bool {
        matches!(self, Self::DemoHeader { .. })
    }

    /// The bearer tokens of an authenticating region.
    pub fn tokens(&self) -> Option<&Arc<Tokens>> {
        match self {
            Self::Required { tokens, .. } => Some(tokens),
            Self::DemoHeader { .. } => None,
        }
    }

    fn registry(&self) -> &Registry {
        match self {
            Self::Required { registry, .. } | Self::DemoHeader { registry } => registry,
        }
    }
}

/// The organisation making a request, as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// The organisation's id in the registry.
    pub organization: String,
    /// May read the audit log.
    pub audit_reader: bool,
    /// May record patients' choices.
    pub consent_recorder: bool,
}

impl Requester {
    fn of(org: &Organization) -> Self {
        Self {
            organization: org.id.clone(),
            audit_reader: org.audit_reader,
            consent_recorder: org.consent_recorder,
        }
    }

    /// The identified organisation of a request, if any.
    pub fn organization_of<B>(request: &axum::http::Request<B>) -> Option<String> {
        request.extensions().get::<Self>().map(|r| r.organization.clone())
    }
}

fn unauthenticated(demo: bool) -> ApiError {
    let how = if demo {
        "this demo region knows callers by the X-Zorgpoort-Requester header: name the calling \
         organisation (its registry id) there"
    } else {
        "authenticate with a registered client certificate or a bearer token from POST /oauth/token"
    };
    ApiError::new(Problem::Unauthenticated, how)
}

impl<S: Send + Sync> FromRequestParts<S> for Requester {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            let demo = parts.extensions.get::<Demo>().is_some();
            with_challenge(unauthenticated(demo).into_response())
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned())
    }
}

/// The identified organisation when its registry entry grants a role
/// (`has`); 401 without one, 403 naming what it may not do otherwise.
async fn with_role<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    has: fn(&Requester) -> bool,
    may_not: &str,
) -> Result<Requester, Response> {
    let requester = <Requester as FromRequestParts<S>>::from_request_parts(parts, state).await?;
    if !has(&requester) {
        return Err(ApiError::new(Problem::Forbidden, format!("this organisation may not {may_not}")).into_response());
    }
    Ok(requester)
}

/// An organisation registered as an audit reader (`audit_reader = true`).
#[derive(Debug, Clone)]
pub struct AuditReader(pub Requester);

impl<S: Send + Sync> FromRequestParts<S> for AuditReader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        with_role(parts, state, |r| r.audit_reader, "read the audit log")
            .await
            .map(Self)
    }
}

/// An organisation registered as a consent recorder (`consent_recorder = true`).
#[derive(Debug, Clone)]
pub struct ConsentRecorder(pub Requester);

impl<S: Send + Sync> FromRequestParts<S> for ConsentRecorder {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        with_role(parts, state, |r| r.consent_recorder, "record patients' choices")
            .await
            .map(Self)
    }
}

/// Marks a demo request, so rejections can say how the demo identifies.
#[derive(Debug, Clone, Copy)]
struct Demo;

fn with_challenge(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Names the caller ([`Requester`] in the request's extensions) or refuses
/// the request: 401 when a region that requires authentication cannot name
/// it, 403 when the named organisation is not in the registry.
pub async fn identify(State(identification): State<Arc<Identification>>, mut request: Request, next: Next) -> Response {
    let registry = identification.registry();
    let organization = match &*identification {
        Identification::Required { tokens, .. } => {
            let from_certificate = match request.extensions().get::<Peer>() {
                Some(Peer::Organization(id)) => Some(id.clone()),
                _ => None,
            };
            let Some(organization) = from_certificate.or_else(|| bearer(&request).and_then(|t| tokens.lookup(t)))
            else {
                return with_challenge(unauthenticated(false).into_response());
            };
            Some(organization)
        }
        Identification::DemoHeader { .. } => {
            request.extensions_mut().insert(Demo);
            match request.headers().get(DEMO_REQUESTER_HEADER).map(HeaderValue::to_str) {
                None => None,
                Some(Ok(named)) => Some(named.trim().to_owned()),
                Some(Err(_)) => {
                    return ApiError::invalid(DEMO_REQUESTER_HEADER, "not visible ASCII").into_response();
                }
            }
        }
    };
    if let Some(organization) = organization {
        let Some(org) = registry.get(&organization) else {
            return ApiError::new(
                Problem::Forbidden,
                "the calling organisation is not in the region's registry",
            )
            .into_response();
        };
        request.extensions_mut().insert(Requester::of(org));
    }
    next.run(request).await
}

/// The bearer token of a request.
fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What every demo response says about itself.
const DEMO_NOTICE: &str = "demo region: callers are not authenticated; fictional data only";

/// Says on a demo response that it is one: `X-Zorgpoort-Demo` and a
/// `Warning` a person reading headers will see.
pub async fn mark_demo(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(DEMO_HEADER, HeaderValue::from_static(DEMO_NOTICE));
    headers.insert(
        header::WARNING,
        HeaderValue::from_static("199 zorgpoort \"demo region: callers are not authenticated\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::token_audience;

    #[test]
    fn the_token_audience_sits_beside_the_fhir_base() {
        assert_eq!(
            token_audience("https://zp.example/fhir"),
            "https://zp.example/oauth/token"
        );
        assert_eq!(
            token_audience("https://zp.example/fhir/"),
            "https://zp.example/oauth/token"
        );
        assert_eq!(
            token_audience("https://zp.example/regio/fhir"),
            "https://zp.example/regio/oauth/token"
        );
        assert_eq!(token_audience("https://zp.example"), "https://zp.example/oauth/token");
    }
}
