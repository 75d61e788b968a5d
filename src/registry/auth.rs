//! Registry authentication: `WWW-Authenticate` parsing, Basic, and the Bearer token flow with a per-scope cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::HeaderValue;

use super::error::{Error, Result};

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What we can authenticate with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credential {
    /// No credentials.
    #[default]
    Anonymous,
    /// Username and password (or personal access token).
    Basic { username: String, password: Secret },
    /// An identity (refresh) token, used with the OAuth2 `refresh_token` grant.
    IdentityToken { username: String, token: Secret },
}

impl Credential {
    /// Short description for status lines: `anonymous`, `user NAME`, `token`.
    pub fn describe(&self) -> String {
        match self {
            Credential::Anonymous => "anonymous".into(),
            Credential::Basic { username, .. } => format!("user {username}"),
            Credential::IdentityToken { .. } => "identity token".into(),
        }
    }
    fn is_anonymous(&self) -> bool {
        matches!(self, Credential::Anonymous)
    }
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lower-cased scheme, e.g. `bearer` or `basic`.
    pub scheme: String,
    /// Parameters with lower-cased names.
    pub params: HashMap<String, String>,
}

/// Parses a `WWW-Authenticate` value into its challenges (several per header, quoted commas allowed).
pub fn parse_www_authenticate(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let s = header.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < s.len() && (s[*i] == b' ' || s[*i] == b'\t' || s[*i] == b',') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && !matches!(s[*i], b' ' | b'\t' | b',' | b'=') {
            *i += 1;
        }
        String::from_utf8_lossy(&s[start..*i]).into_owned()
    };
    loop {
        skip_ws(&mut i);
        if i >= s.len() {
            break;
        }
        let word = token(&mut i);
        // Is this `name=value` (a parameter of the current challenge) or a new scheme?
        let mut j = i;
        while j < s.len() && s[j] == b' ' {
            j += 1;
        }
        if j < s.len() && s[j] == b'=' && !out.is_empty() {
            i = j + 1;
            while i < s.len() && s[i] == b' ' {
                i += 1;
            }
            let value = if i < s.len() && s[i] == b'"' {
                i += 1;
                let mut v = Vec::new();
                while i < s.len() && s[i] != b'"' {
                    if s[i] == b'\\' && i + 1 < s.len() {
                        i += 1;
                    }
                    v.push(s[i]);
                    i += 1;
                }
                i += 1;
                String::from_utf8_lossy(&v).into_owned()
            } else {
                token(&mut i)
            };
            if let Some(c) = out.last_mut() {
                c.params.insert(word.to_ascii_lowercase(), value);
            }
        } else if !word.is_empty() {
            out.push(Challenge {
                scheme: word.to_ascii_lowercase(),
                params: HashMap::new(),
            });
        } else {
            i += 1;
        }
    }
    out
}

/// What the registry told us about its auth scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    Unknown,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Clone)]
struct CachedToken {
    value: Secret,
    valid_until: Instant,
}

/// Authenticates requests for one registry: knows its scheme, holds the credential, caches tokens per scope.
pub struct Authenticator {
    registry: String,
    credential: Credential,
    http: reqwest::Client,
    scheme: Mutex<Scheme>,
    tokens: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<CachedToken>>>>>,
    token_requests: std::sync::atomic::AtomicU64,
    /// Whether credentials may go to a plain-HTTP token realm (plain-HTTP registry or insecure).
    plain_http_realm: bool,
}

#[derive(serde::Deserialize)]
struct TokenReply {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<i64>,
}

/// Largest token-endpoint reply we read.
const TOKEN_REPLY_LIMIT: usize = 1024 * 1024;
/// How long a token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest token lifetime believed, whatever the server says.
const MAX_TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);
/// Lifetime assumed when the server names none (the distribution spec's default).
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(60);

/// How long a token is valid from `started`, renewed a little early; server numbers are clamped
/// so no arithmetic can overflow.
/// Seconds a JWT lives by its own claims: `exp - iat`, else `exp` from now; `None` for a token
/// that is not a JWT or names no `exp`.
fn jwt_lifetime(token: &str) -> Option<i64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    let from = claims
        .get("iat")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_else(super::model::now_unix);
    Some(exp - from).filter(|s| *s > 0)
}

fn valid_until(started: Instant, expires_in: Option<i64>) -> Instant {
    let life = match expires_in {
        Some(s) if s > 0 => Duration::from_secs(s as u64).min(MAX_TOKEN_LIFE),
        _ => DEFAULT_TOKEN_LIFE,
    };
    // Renew a little early so a token does not expire in flight.
    let margin = (life / 10).min(Duration::from_secs(10));
    started.checked_add(life - margin).unwrap_or(started)
}

impl Authenticator {
    /// Creates an authenticator; `http` is the profile's pooled client.
    pub fn new(registry: String, credential: Credential, http: reqwest::Client) -> Self {
        Authenticator {
            registry,
            credential,
            http,
            scheme: Mutex::new(Scheme::Unknown),
            tokens: Mutex::new(HashMap::new()),
            token_requests: Default::default(),
            plain_http_realm: true,
        }
    }

    /// Whether credentials may be sent to a token realm over plain HTTP (only for a plain-HTTP
    /// registry, or a profile with `insecure = true`).
    pub fn allow_plain_http_realm(mut self, allow: bool) -> Self {
        self.plain_http_realm = allow;
        self
    }

    /// The credential in use.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// How many tokens have been fetched so far.
    pub fn token_requests(&self) -> u64 {
        self.token_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `anonymous`, `user X`, or `token (user X)` once a bearer scheme is known.
    pub fn describe(&self) -> String {
        let scheme = self.scheme.lock().unwrap().clone();
        match scheme {
            Scheme::Bearer { .. } => format!("token ({})", self.credential.describe()),
            _ => self.credential.describe(),
        }
    }

    fn basic_header(&self) -> Option<HeaderValue> {
        let (user, pass) = match &self.credential {
            Credential::Basic { username, password } => (username.as_str(), password.expose()),
            _ => return None,
        };
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut h = HeaderValue::from_str(&format!("Basic {enc}")).ok()?;
        h.set_sensitive(true);
        Some(h)
    }

    fn slot(&self, scope: &str) -> Arc<tokio::sync::Mutex<Option<CachedToken>>> {
        self.tokens
            .lock()
            .unwrap()
            .entry(scope.to_string())
            .or_default()
            .clone()
    }

    /// The header to send before any challenge: Basic or a cached/fresh token once the scheme is known.
    pub async fn header_for(&self, scope: &str) -> Result<Option<HeaderValue>> {
        let scheme = self.scheme.lock().unwrap().clone();
        match scheme {
            Scheme::Unknown => Ok(None),
            Scheme::Basic => Ok(self.basic_header()),
            Scheme::Bearer { realm, service } => self
                .token(scope, &realm, service.as_deref(), scope, None)
                .await
                .map(Some),
        }
    }

    /// Handles a 401: learns the scheme, drops a rejected token, and returns the header to retry with.
    /// `None` means there is nothing better to send.
    pub async fn on_unauthorized(
        &self,
        www_authenticate: Option<&str>,
        scope: &str,
        sent: Option<&HeaderValue>,
    ) -> Result<Option<HeaderValue>> {
        let challenges = www_authenticate
            .map(parse_www_authenticate)
            .unwrap_or_default();
        if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            let Some(realm) = c.params.get("realm").cloned() else {
                return Err(Error::Invalid {
                    what: "WWW-Authenticate header".into(),
                    detail: "bearer challenge without realm".into(),
                });
            };
            let service = c.params.get("service").cloned();
            self.check_realm(&realm)?;
            *self.scheme.lock().unwrap() = Scheme::Bearer {
                realm: realm.clone(),
                service: service.clone(),
            };
            let wanted = c.params.get("scope").cloned().unwrap_or(scope.to_string());
            let header = self
                .token(scope, &realm, service.as_deref(), &wanted, sent)
                .await?;
            if sent == Some(&header) {
                return Ok(None);
            }
            return Ok(Some(header));
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            *self.scheme.lock().unwrap() = Scheme::Basic;
            let h = self.basic_header();
            if h.is_none() || sent.is_some() {
                return Ok(None);
            }
            return Ok(h);
        }
        Ok(None)
    }

    /// Refuses a realm that would carry credentials in the clear, or is not a web address.
    fn check_realm(&self, realm: &str) -> Result<()> {
        let plain = realm
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"));
        let tls = realm
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"));
        if !plain && !tls {
            return Err(Error::Invalid {
                what: "WWW-Authenticate header".into(),
                detail: "the token realm is not an http(s) address".into(),
            });
        }
        if plain && !self.plain_http_realm && !self.credential.is_anonymous() {
            return Err(Error::Config(format!(
                "{} asks for its credentials to be sent in the clear to {} (plain http); refused. \
                 Set insecure = true in the profile only if you trust that network",
                self.registry,
                super::http::host_of(realm)
            )));
        }
        Ok(())
    }

    /// A valid token for `key`, fetching one for `wanted` scope when missing, expired, or equal to `rejected`.
    async fn token(
        &self,
        key: &str,
        realm: &str,
        service: Option<&str>,
        wanted: &str,
        rejected: Option<&HeaderValue>,
    ) -> Result<HeaderValue> {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if let Some(t) = guard.as_ref() {
            let h = bearer(&t.value);
            if t.valid_until > Instant::now() && rejected != Some(&h) {
                return Ok(h);
            }
        }
        let fresh = self.fetch_token(realm, service, wanted).await?;
        let h = bearer(&fresh.value);
        *guard = Some(fresh);
        Ok(h)
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<CachedToken> {
        self.token_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = service {
            params.push(("service", s));
        }
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            params.push(("scope", s));
        }
        self.check_realm(realm)?;
        // A token endpoint that stumbles (a dropped connection, 429, 5xx) is asked again.
        let mut attempt = 0;
        let (status, body) = loop {
            let r = match tokio::time::timeout(TOKEN_TIMEOUT, self.exchange(realm, &params)).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    registry: super::http::host_of(realm),
                }),
            };
            let again = attempt + 1 < super::http::MAX_TRIES
                && match &r {
                    Ok((status, _)) => super::http::retryable_status(
                        reqwest::StatusCode::from_u16(*status).unwrap_or(reqwest::StatusCode::OK),
                    ),
                    Err(e) => e.is_transient(),
                };
            if !again {
                break r?;
            }
            tokio::time::sleep(super::http::backoff(attempt)).await;
            attempt += 1;
        };
        tracing::info!(
            target: "regtui::auth",
            "token from {} for {scope:?}: {status} (try {})",
            super::http::host_of(realm),
            attempt + 1
        );
        if !(200..300).contains(&status) {
            return Err(Error::from_status(
                status,
                &self.registry,
                "token request",
                false,
                !self.credential.is_anonymous(),
                None,
                &body,
            ));
        }
        let reply: TokenReply = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
            what: "token reply".into(),
            detail: e.to_string(),
        })?;
        let value = reply
            .token
            .filter(|t| !t.is_empty())
            .or(reply.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Invalid {
                what: "token reply".into(),
                detail: "no token in the reply".into(),
            })?;
        if HeaderValue::from_str(&value).is_err() {
            return Err(Error::Invalid {
                what: "token reply".into(),
                detail: "the token has characters not allowed in a header".into(),
            });
        }
        // ACR and GitLab send no expires_in: their JWT's own exp says how long it lives.
        let life = reply.expires_in.or_else(|| jwt_lifetime(&value));
        Ok(CachedToken {
            value: Secret::new(value),
            valid_until: valid_until(started, life),
        })
    }

    /// One request to the token endpoint; its status and body (at most 1 MiB).
    async fn exchange(&self, realm: &str, params: &[(&str, &str)]) -> Result<(u16, Vec<u8>)> {
        // Redirects are followed for the GET only, and the Basic header only on the realm's origin.
        let resp = match &self.credential {
            Credential::IdentityToken { token, .. } => {
                let mut form = params.to_vec();
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", token.expose()));
                form.push(("client_id", "regtui"));
                let body = form_encode(&form);
                super::http::send_following(
                    &self.http,
                    reqwest::Method::POST,
                    realm,
                    None,
                    realm,
                    &self.registry,
                    &|rb| {
                        rb.header(
                            reqwest::header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded",
                        )
                        .body(body.clone())
                    },
                )
                .await?
            }
            _ => {
                let url =
                    reqwest::Url::parse_with_params(realm, params).map_err(|_| Error::Invalid {
                        what: "WWW-Authenticate header".into(),
                        detail: "the token realm is not a valid URL".into(),
                    })?;
                super::http::send_following(
                    &self.http,
                    reqwest::Method::GET,
                    url.as_str(),
                    self.basic_header().as_ref(),
                    realm,
                    &self.registry,
                    &|rb| rb,
                )
                .await?
            }
        };
        let status = resp.status().as_u16();
        let body = super::http::read_limited(
            resp,
            TOKEN_REPLY_LIMIT as u64,
            "token reply",
            &self.registry,
        )
        .await?;
        Ok((status, body))
    }
}

fn bearer(token: &Secret) -> HeaderValue {
    let mut h = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
    h.set_sensitive(true);
    h
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Redacts the value of any `Authorization:` header or bearer/basic credential in a text meant for logs.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let lower = line.to_ascii_lowercase();
        if let Some(pos) = lower.find("authorization") {
            let after = &line[pos..];
            let cut = after
                .find([':', '='])
                .map(|c| pos + c + 1)
                .unwrap_or(line.len());
            out.push_str(&line[..cut]);
            out.push_str(" <redacted>");
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else if let Some(pos) = lower.find("bearer ").or_else(|| lower.find("basic ")) {
            let word = if lower[pos..].starts_with("bearer ") {
                7
            } else {
                6
            };
            out.push_str(&line[..pos + word]);
            out.push_str("<redacted>");
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_jwt_says_how_long_it_lives() {
        use base64::Engine as _;
        let enc = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let t = format!(
            "{}.{}.sig",
            enc(serde_json::json!({"alg": "RS256"})),
            enc(serde_json::json!({"iat": 1000, "exp": 1000 + 4500}))
        );
        assert_eq!(super::jwt_lifetime(&t), Some(4500));
        assert_eq!(super::jwt_lifetime("opaque-token"), None);
        let expired = format!("h.{}.s", enc(serde_json::json!({"iat": 10, "exp": 5})));
        assert_eq!(super::jwt_lifetime(&expired), None);
    }

    use super::*;

    #[test]
    fn parses_bearer_with_quoted_commas() {
        let h = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#;
        let c = parse_www_authenticate(h);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].params["realm"], "https://auth.example/token");
        assert_eq!(c[0].params["scope"], "repository:a/b:pull,push");
    }

    #[test]
    fn parses_several_challenges() {
        let c = parse_www_authenticate(
            r#"Basic realm="Registry Realm", Bearer realm="https://t/x", service=reg"#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].params["realm"], "Registry Realm");
        assert_eq!(c[1].params["service"], "reg");
        assert!(parse_www_authenticate("").is_empty());
        // hostile input does not panic
        parse_www_authenticate("=,=\"\\");
        parse_www_authenticate("Bearer realm=\"unterminated");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = Credential::Basic {
            username: "u".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn redacts_authorization() {
        let r = redact("GET /v2/\nAuthorization: Bearer abc.def\nx: bearer zzz\n");
        assert!(!r.contains("abc.def") && !r.contains("zzz"), "{r}");
        assert!(r.contains("Authorization: <redacted>"));
    }

    #[test]
    fn server_lifetimes_never_overflow() {
        let now = Instant::now();
        for s in [i64::MAX, i64::MIN, 0, -1, 1, 60, 86_400 * 365] {
            let until = valid_until(now, Some(s));
            assert!(until >= now && until <= now + MAX_TOKEN_LIFE, "{s}");
        }
        assert_eq!(valid_until(now, None), now + Duration::from_secs(54));
        assert_eq!(
            valid_until(now, Some(i64::MAX)),
            now + MAX_TOKEN_LIFE - Duration::from_secs(10),
            "clamped to a day"
        );
    }

    #[test]
    fn credentials_never_go_to_a_plain_http_realm_of_an_https_registry() {
        let cred = Credential::Basic {
            username: "u".into(),
            password: Secret::new("p"),
        };
        let a = Authenticator::new("r.example".into(), cred.clone(), reqwest::Client::new())
            .allow_plain_http_realm(false);
        let e = a.check_realm("http://auth.example/token").unwrap_err();
        assert!(
            e.to_string().contains("in the clear to auth.example"),
            "{e}"
        );
        assert!(a.check_realm("https://other.example/token").is_ok());
        assert!(a.check_realm("file:///etc/passwd").is_err());
        let insecure = Authenticator::new("r.example".into(), cred, reqwest::Client::new());
        assert!(insecure.check_realm("http://auth.example/token").is_ok());
        let anon = Authenticator::new("r".into(), Credential::Anonymous, reqwest::Client::new())
            .allow_plain_http_realm(false);
        assert!(anon.check_realm("http://auth.example/token").is_ok());
    }

    #[test]
    fn form_encoding_escapes() {
        assert_eq!(
            form_encode(&[("scope", "repository:a/b:pull"), ("x", "a b&")]),
            "scope=repository%3Aa%2Fb%3Apull&x=a+b%26"
        );
    }
}
