//! A small token server following the Docker token spec: GET with Basic, POST refresh_token grant.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

use super::pki::SigningKey;

pub const ISSUER: &str = "regtui-test-issuer";
pub const SERVICE: &str = "regtui-test-registry";

#[derive(Default)]
pub struct TokenState {
    /// user → password
    pub users: HashMap<String, String>,
    /// refresh token → user
    pub refresh_tokens: HashMap<String, String>,
    /// Every request: (method, scopes, user or "")
    pub log: Vec<(String, Vec<String>, String)>,
}

pub struct TokenServer {
    pub port: u16,
    pub state: Arc<Mutex<TokenState>>,
    /// Tokens issued so far.
    pub issued: Arc<AtomicUsize>,
    /// `expires_in` told to clients.
    pub expires_in: Arc<AtomicI64>,
    /// The next N tokens are already expired (beyond the registry's 60 s leeway).
    pub expired_next: Arc<AtomicUsize>,
}

impl TokenServer {
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    pub fn start(key: &SigningKey) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let rng = SystemRandom::new();
        let pair = Arc::new(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.pkcs8, &rng).unwrap(),
        );
        let server = TokenServer {
            port,
            state: Default::default(),
            issued: Default::default(),
            expires_in: Arc::new(AtomicI64::new(300)),
            expired_next: Default::default(),
        };
        let ctx = Ctx {
            pair,
            rng,
            kid: key.kid.clone(),
            state: server.state.clone(),
            issued: server.issued.clone(),
            expires_in: server.expires_in.clone(),
            expired_next: server.expired_next.clone(),
        };
        let ctx = Arc::new(ctx);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let ctx = ctx.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &ctx);
                });
            }
        });
        server
    }
}

struct Ctx {
    pair: Arc<EcdsaKeyPair>,
    rng: SystemRandom,
    kid: String,
    state: Arc<Mutex<TokenState>>,
    issued: Arc<AtomicUsize>,
    expires_in: Arc<AtomicI64>,
    expired_next: Arc<AtomicUsize>,
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn respond(mut s: TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn handle(stream: TcpStream, ctx: &Ctx) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if path != "/token" {
        return respond(stream, "404 Not Found", "{}");
    }
    let params = if method == "POST" {
        parse_form(&String::from_utf8_lossy(&body))
    } else {
        parse_form(query)
    };
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .collect();
    let user = {
        let st = ctx.state.lock().unwrap();
        if method == "POST" {
            if get("grant_type").as_deref() != Some("refresh_token") {
                return respond(
                    stream,
                    "400 Bad Request",
                    r#"{"error":"unsupported_grant_type"}"#,
                );
            }
            match get("refresh_token").and_then(|t| st.refresh_tokens.get(&t).cloned()) {
                Some(u) => u,
                None => return respond(stream, "401 Unauthorized", r#"{"error":"invalid_grant"}"#),
            }
        } else if let Some(auth) = headers.get("authorization") {
            let creds = auth
                .strip_prefix("Basic ")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let (u, p) = creds.split_once(':').unwrap_or(("", ""));
            if st.users.get(u).map(String::as_str) != Some(p) {
                return respond(
                    stream,
                    "401 Unauthorized",
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}"#,
                );
            }
            u.to_string()
        } else {
            String::new()
        }
    };
    ctx.state
        .lock()
        .unwrap()
        .log
        .push((method.clone(), scopes.clone(), user.clone()));
    // Known users get everything they ask for; anonymous gets nothing.
    let access: Vec<serde_json::Value> = if user.is_empty() {
        vec![]
    } else {
        scopes
            .iter()
            .filter_map(|s| {
                let (typ, rest) = s.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({"type": typ, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires_in = ctx.expires_in.load(Ordering::SeqCst);
    let expired = ctx
        .expired_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let exp = if expired {
        now - 600
    } else {
        // The JWT stays valid a year at most, whatever lifetime the reply claims.
        now + expires_in.clamp(1, 365 * 86_400) + 5
    };
    let n = ctx.issued.fetch_add(1, Ordering::SeqCst);
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": ctx.kid});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": user, "aud": get("service").unwrap_or_default(),
        "exp": exp, "nbf": now - 700, "iat": now - 700, "jti": format!("tok-{n}"),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(&serde_json::to_vec(&header).unwrap()),
        b64url(&serde_json::to_vec(&claims).unwrap())
    );
    let sig = ctx.pair.sign(&ctx.rng, signing_input.as_bytes()).unwrap();
    let token = format!("{signing_input}.{}", b64url(sig.as_ref()));
    let body = serde_json::json!({"token": token, "access_token": token, "expires_in": expires_in})
        .to_string();
    respond(stream, "200 OK", &body)
}
