//! A small HTTP/1.1 server for API fixtures (GitHub, Docker Hub) and pass-through proxies
//! (to the real registry or moto), one thread per connection, `Connection: close`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A query parameter (not percent-decoded).
    pub fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then(|| v.to_string())
        })
    }

    /// The bearer token sent, if any.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
}

/// A response status that makes the server close the connection without answering.
pub const DROP: u16 = 0;

/// A response to send.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, v: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(v).unwrap(),
        }
    }

    /// An empty response.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: vec![],
            body: vec![],
        }
    }

    /// Adds a header.
    pub fn with(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// A running fixture: its address and every request it saw (`METHOD target`).
pub struct Fixture {
    pub port: u16,
    pub url: String,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Fixture {
    /// Requests seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts a server on a free loopback port answering every request with `handler`.
pub fn serve(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<String>>> = Default::default();
    let handler = Arc::new(handler);
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (h, log) = (handler.clone(), log.clone());
            std::thread::spawn(move || {
                let Ok(req) = read_request(&stream) else {
                    return;
                };
                let op = req
                    .header("x-amz-target")
                    .map(|t| format!(" {}", t.rsplit('.').next().unwrap_or(t)))
                    .unwrap_or_default();
                log.lock()
                    .unwrap()
                    .push(format!("{} {}{op}", req.method, req.target));
                let resp = h(&req);
                if resp.status == DROP {
                    // Close without answering: the client sees its request die unanswered.
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    return;
                }
                let _ = write_response(stream, &req.method, &resp);
            });
        }
    });
    Fixture {
        port,
        url: format!("http://127.0.0.1:{port}"),
        seen,
    }
}

fn read_head(r: &mut impl BufRead) -> std::io::Result<(String, Vec<(String, String)>)> {
    let mut first = String::new();
    r.read_line(&mut first)?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok((first.trim_end().to_string(), headers))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads a body by Content-Length, or chunked, or to the end.
fn read_body(
    r: &mut impl BufRead,
    headers: &[(String, String)],
    to_eof: bool,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                r.read_line(&mut end)?;
                break;
            }
            let mut chunk = vec![0; n];
            r.read_exact(&mut chunk)?;
            body.extend(chunk);
            let mut crlf = String::new();
            r.read_line(&mut crlf)?;
        }
    } else if let Some(n) = header(headers, "content-length").and_then(|v| v.parse::<usize>().ok())
    {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else if to_eof {
        r.read_to_end(&mut body)?;
    }
    Ok(body)
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut r = BufReader::new(stream.try_clone()?);
    let (first, headers) = read_head(&mut r)?;
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let body = read_body(&mut r, &headers, false)?;
    Ok(Request {
        method,
        target,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        307 => "Temporary Redirect",
        500 => "Internal Server Error",
        405 => "Method Not Allowed",
        _ => "Status",
    }
}

fn write_response(mut s: TcpStream, method: &str, resp: &Response) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    let mut has_len = false;
    for (k, v) in &resp.headers {
        if k.eq_ignore_ascii_case("transfer-encoding") || k.eq_ignore_ascii_case("connection") {
            continue;
        }
        has_len |= k.eq_ignore_ascii_case("content-length");
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_len {
        head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    s.write_all(head.as_bytes())?;
    if method != "HEAD" {
        s.write_all(&resp.body)?;
    }
    s.flush()
}

/// Passes a request to `127.0.0.1:port` unchanged (but for `Host`) and returns its response.
pub fn forward(req: &Request, port: u16) -> Response {
    let mut up = TcpStream::connect(("127.0.0.1", port)).expect("upstream listens");
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n",
        req.method, req.target
    );
    for (k, v) in &req.headers {
        if ["host", "connection", "content-length", "transfer-encoding"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
        {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    up.write_all(head.as_bytes()).unwrap();
    up.write_all(&req.body).unwrap();
    let mut r = BufReader::new(up);
    let (status_line, headers) = read_head(&mut r).unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let body = if req.method == "HEAD" {
        Vec::new()
    } else {
        read_body(&mut r, &headers, true).unwrap_or_default()
    };
    let headers = headers
        .into_iter()
        .filter(|(k, _)| {
            !(k.eq_ignore_ascii_case("transfer-encoding")
                || k.eq_ignore_ascii_case("connection")
                || (req.method != "HEAD" && k.eq_ignore_ascii_case("content-length")))
        })
        .collect();
    Response {
        status,
        headers,
        body,
    }
}

/// A server in front of the registry on `reg_port`: `f` answers what it wants to answer itself
/// (`None` passes the request on), and `Location`/`Link` headers point back at this server.
pub fn proxy(
    reg_port: u16,
    f: impl Fn(&Request) -> Option<Response> + Send + Sync + 'static,
) -> Fixture {
    let me: Arc<Mutex<String>> = Default::default();
    let me2 = me.clone();
    let fx = serve(move |req| {
        if let Some(r) = f(req) {
            return r;
        }
        let mut r = forward(req, reg_port);
        let own = me2.lock().unwrap().clone();
        for (k, v) in &mut r.headers {
            if k.eq_ignore_ascii_case("location") || k.eq_ignore_ascii_case("link") {
                *v = v.replace(&format!("127.0.0.1:{reg_port}"), &own);
            }
        }
        r
    });
    *me.lock().unwrap() = format!("127.0.0.1:{}", fx.port);
    fx
}

/// Decodes `%XX` escapes of a path or query part (an invalid escape stays as it is).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
