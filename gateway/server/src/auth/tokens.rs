//! Bearer tokens for callers that cannot do mutual TLS: `POST /oauth/token`
//! is OAuth2 client credentials with a `private_key_jwt` client assertion
//! (RFC 7523), signed ES256 with a key registered for the organisation and
//! addressed to exactly this gateway's token endpoint. Tokens live five
//! minutes and carry what they grant: the organisation and the expiry,
//! MAC'd with a key derived from the region's secret (the audit key), so
//! any replica of the gateway accepts a token another issued, and nothing
//! needs to be shared or looked up. An assertion is accepted once in the
//! region: its issuer and jti are recorded in the store, which replicas
//! share (docs/decisions/0008).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use ring::{digest, hmac};
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use zorgpoort_audit::chain::AuditKey;
use zorgpoort_audit::{hex, unhex};
use zorgpoort_handover::Registry;
use zorgpoort_store::{AnyStore, Store as _};

/// How long an access token lives.
const TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// Longest lifetime a client assertion may claim.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 300;
/// The `client_assertion_type` of RFC 7523.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Why keys in the registry cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("organization {organization:?}: jwt_keys: {reason}")]
pub struct KeyError {
    organization: String,
    reason: String,
}

/// A client assertion that verified.
struct Assertion {
    /// The organisation it authenticates.
    organization: String,
    /// Its identity (issuer and jti) as remembered.
    key: String,
    /// Its `exp` (seconds since the epoch).
    expiry: i64,
}

/// The label of the token key derived from the region's secret.
const TOKEN_KEY_LABEL: &[u8] = b"zorgpoort access token key v1";

/// The keys that may ask for tokens, and the key tokens are MAC'd with.
pub struct Tokens {
    /// The one `aud` a client assertion may name: this gateway's token endpoint.
    audience: String,
    keys: HashMap<String, Vec<Vec<u8>>>,
    /// MACs issued tokens; the same on every replica of the region.
    token_key: hmac::Key,
    /// Where used assertions are remembered (the store replicas share).
    store: AnyStore,
    random: SystemRandom,
}

// SEQUENCE { SEQUENCE { ecPublicKey, prime256v1 }, BIT STRING 04|X|Y }:
// 91 bytes, the point being the last 65.
const P256_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The uncompressed P-256 point of a PEM SubjectPublicKeyInfo.
fn p256_point(pem: &str) -> Result<Vec<u8>, String> {
    let spki = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|e| e.to_string())?;
    let der = spki.as_ref();
    if der.len() != 91 || der[..26] != P256_PREFIX || der[26] != 0x04 {
        return Err("only P-256 (ES256) public keys are supported".into());
    }
    Ok(der[26..].to_vec())
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or(0));
        }
    }
    Some(out)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description }).to_string();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

impl Tokens {
    /// Reads the registered keys; assertions must be addressed to `audience`,
    /// the public URL of this gateway's `/oauth/token`. Tokens are MAC'd
    /// with a key derived from `secret`, the region's audit key; used
    /// assertions are remembered in `store`.
    pub fn new(registry: &Registry, audience: String, secret: &AuditKey, store: AnyStore) -> Result<Self, KeyError> {
        let mut keys = HashMap::new();
        for org in registry.iter() {
            let points = org
                .jwt_keys
                .iter()
                .map(|pem| p256_point(pem))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|reason| KeyError {
                    organization: org.id.clone(),
                    reason,
                })?;
            if !points.is_empty() {
                keys.insert(org.id.clone(), points);
            }
        }
        Ok(Self {
            audience,
            keys,
            token_key: secret.derive(TOKEN_KEY_LABEL),
            store,
            random: SystemRandom::new(),
        })
    }

    /// The public URL of the token endpoint.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The organisation a live token was issued to (by any replica), while
    /// it may still ask for tokens.
    pub fn lookup(&self, token: &str) -> Option<String> {
        self.lookup_at(token, now_secs())
    }

    fn lookup_at(&self, token: &str, now: i64) -> Option<String> {
        let (grant, mac) = token.split_once('.')?;
        let grant = unhex(grant)?;
        hmac::verify(&self.token_key, &grant, &unhex(mac)?).ok()?;
        let grant = String::from_utf8(grant).ok()?;
        let mut fields = grant.split('\n');
        let (Some("v1"), Some(organization), Some(expiry)) = (fields.next(), fields.next(), fields.next()) else {
            return None;
        };
        let live = expiry.parse::<i64>().ok()? > now;
        (live && self.keys.contains_key(organization)).then(|| organization.to_owned())
    }

    /// Checks a client assertion's signature, audience and lifetime; the
    /// organisation it authenticates, with what identifies the assertion
    /// for [`Tokens::first_use`] and its expiry.
    fn verify_assertion(&self, assertion: &str, now: i64) -> Result<Assertion, String> {
        let mut parts = assertion.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("client_assertion is not a compact JWS".into());
        };
        let decode = |part: &str| base64url(part).ok_or_else(|| "client_assertion is not base64url".to_owned());
        let json = |bytes: Vec<u8>| {
            serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|_| "client_assertion is not JSON".to_owned())
        };
        let header_json = json(decode(header)?)?;
        if header_json["alg"] != "ES256" {
            return Err("alg must be ES256".into());
        }
        let claims = json(decode(payload)?)?;
        let issuer = claims["iss"].as_str().ok_or("iss is missing")?;
        if claims["sub"].as_str() != Some(issuer) {
            return Err("sub must equal iss (the client id)".into());
        }
        let keys = self.keys.get(issuer).ok_or("no key registered for this client")?;
        let signed = &assertion[..header.len() + 1 + payload.len()];
        let signature = decode(signature)?;
        let valid = keys.iter().any(|key| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key)
                .verify(signed.as_bytes(), &signature)
                .is_ok()
        });
        if !valid {
            return Err("signature does not verify with a registered key".into());
        }
        // RFC 7523 §3: the audience identifies this authorization server;
        // a suffix match would accept an assertion made for another one.
        let audience_ok = match &claims["aud"] {
            serde_json::Value::String(aud) => *aud == self.audience,
            serde_json::Value::Array(auds) => auds.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(format!("aud must be this gateway's token endpoint, {}", self.audience));
        }
        let expiry = claims["exp"].as_i64().ok_or("exp is missing")?;
        if expiry <= now || expiry - now > MAX_ASSERTION_LIFETIME_SECS {
            return Err(format!(
                "exp must lie within the next {MAX_ASSERTION_LIFETIME_SECS} seconds"
            ));
        }
        let jti = claims["jti"].as_str().ok_or("jti is missing")?;
        // Stored as a hash: fixed length, any characters in the jti.
        let mut identity = digest::Context::new(&digest::SHA256);
        for part in [issuer, "\u{0}", jti] {
            identity.update(part.as_bytes());
        }
        Ok(Assertion {
            organization: issuer.to_owned(),
            key: format!("jwt-bearer:{}", hex(identity.finish().as_ref())),
            expiry,
        })
    }

    /// Whether this is the assertion's first use in the region (false: a
    /// replay, at this gateway or another on the same store).
    async fn first_use(&self, assertion: &Assertion, now: i64) -> Result<bool, zorgpoort_store::StoreError> {
        self.store
            .first_use(&assertion.key, now * 1000, assertion.expiry * 1000)
            .await
    }

    /// A token for `organization` until `now` plus its lifetime: the grant
    /// (version, organisation, expiry, 16 random bytes) and its MAC, in hex.
    fn issue(&self, organization: &str, now: i64) -> Option<String> {
        let mut nonce = [0u8; 16];
        self.random.fill(&mut nonce).ok()?;
        let lifetime = i64::try_from(TOKEN_LIFETIME.as_secs()).ok()?;
        let grant = format!("v1\n{organization}\n{}\n{}", now + lifetime, hex(&nonce));
        let mac = hmac::sign(&self.token_key, grant.as_bytes());
        Some(format!("{}.{}", hex(grant.as_bytes()), hex(mac.as_ref())))
    }
}

fn now_secs() -> i64 {
    zorgpoort_handover::delivery::now_ms() / 1000
}

/// `POST /oauth/token` (form-encoded, RFC 6749 §4.4 with RFC 7523 client authentication).
pub async fn token_endpoint(State(tokens): State<Arc<Tokens>>, body: String) -> Response {
    let form: HashMap<String, String> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client_assertion_type must be jwt-bearer (private_key_jwt)",
        );
    }
    let Some(assertion) = form.get("client_assertion") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "client_assertion is missing");
    };
    let now = now_secs();
    let verified = match tokens.verify_assertion(assertion, now) {
        Ok(assertion) => match tokens.first_use(&assertion, now).await {
            Ok(true) => Ok(assertion.organization),
            Ok(false) => Err("this assertion (jti) was used before".to_owned()),
            Err(error) => {
                tracing::error!(%error, "cannot record the use of a client assertion");
                return oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "cannot issue a token now",
                );
            }
        },
        Err(reason) => Err(reason),
    };
    match verified {
        Ok(organization) => {
            tracing::info!(organization, "access token issued");
            let Some(token) = tokens.issue(&organization, now) else {
                return oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "cannot issue a token now",
                );
            };
            let body = serde_json::json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME.as_secs(),
            })
            .to_string();
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response()
        }
        Err(reason) => {
            tracing::warn!(reason, "client assertion refused");
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &reason)
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> AnyStore {
        let dir = std::env::temp_dir().join(format!("zorgpoort-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store =
            zorgpoort_store::SqliteStore::open(&dir.join("zorgpoort.db"), zorgpoort_store::Durability::ProcessCrash);
        AnyStore::Sqlite(store.unwrap())
    }

    /// A gateway whose registry lets `rijnstate` ask for tokens.
    fn replica(secret: &[u8]) -> Tokens {
        Tokens {
            audience: "https://gw.example/oauth/token".into(),
            keys: HashMap::from([("rijnstate".to_owned(), Vec::new())]),
            token_key: AuditKey::new(secret).unwrap().derive(TOKEN_KEY_LABEL),
            store: store(),
            random: SystemRandom::new(),
        }
    }

    #[test]
    fn a_token_from_one_replica_is_good_at_another_of_the_region_only() {
        let (a, b, elsewhere) = (replica(&[7; 32]), replica(&[7; 32]), replica(&[8; 32]));
        let token = a.issue("rijnstate", 1_000).unwrap();
        assert_eq!(b.lookup_at(&token, 1_000).as_deref(), Some("rijnstate"));
        assert_eq!(b.lookup_at(&token, 1_299).as_deref(), Some("rijnstate"));
        assert_eq!(b.lookup_at(&token, 1_300), None, "expired after five minutes");
        assert_eq!(elsewhere.lookup_at(&token, 1_000), None, "another region's key");
        // Another organisation or a later expiry written into the grant breaks the MAC.
        let (grant, mac) = token.split_once('.').unwrap();
        let grant = String::from_utf8(unhex(grant).unwrap()).unwrap();
        for forged in [
            grant.replace("rijnstate", "de-linde"),
            grant.replace("\n1300\n", "\n9300\n"),
        ] {
            assert_eq!(b.lookup_at(&format!("{}.{mac}", hex(forged.as_bytes())), 1_000), None);
        }
        // An organisation the registry no longer lets ask for tokens.
        assert_eq!(a.issue("de-linde", 1_000).and_then(|t| b.lookup_at(&t, 1_000)), None);
        for garbage in ["", ".", "zz.zz", "abc", &token[1..]] {
            assert_eq!(b.lookup_at(garbage, 1_000), None, "{garbage}");
        }
    }

    #[test]
    fn base64url_and_percent_decoding() {
        assert_eq!(base64url("eyJhbGciOiJFUzI1NiJ9").unwrap(), br#"{"alg":"ES256"}"#);
        assert!(base64url("a+b").is_none());
        assert_eq!(percent_decode("a%3Ab+c%2"), "a:b c%2");
    }
}
