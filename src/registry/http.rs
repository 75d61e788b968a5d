//! The HTTP helpers every registry client shares: bounded body reads, header and `Link` parsing,
//! origins, and redirects followed by hand so credentials never leave the registry's origin.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, Response, Url};

use super::error::{Error, Result};

/// Most redirects followed for one read.
pub const MAX_REDIRECTS: usize = 5;

/// Most pages read from one listing (a registry that never stops paging is cut off).
pub const MAX_PAGES: usize = 100_000;
/// Most names read from one listing.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Most bytes read from one listing, all pages together.
pub const MAX_LISTING_BYTES: u64 = 256 * 1024 * 1024;

/// Counts what one paged listing has read so far and stops it at [`MAX_PAGES`] pages,
/// [`MAX_ENTRIES`] entries or [`MAX_LISTING_BYTES`] bytes.
#[derive(Debug)]
pub struct PageBudget {
    what: String,
    pages: usize,
    entries: usize,
    bytes: u64,
}

impl PageBudget {
    /// A fresh budget for the listing `what` (named in the error).
    pub fn new(what: impl Into<String>) -> Self {
        PageBudget {
            what: what.into(),
            pages: 0,
            entries: 0,
            bytes: 0,
        }
    }

    /// Accounts one page of `entries` names in `bytes` bytes; an error once over a bound.
    pub fn take(&mut self, entries: usize, bytes: usize) -> Result<()> {
        self.pages = self.pages.saturating_add(1);
        self.bytes = self.bytes.saturating_add(bytes as u64);
        self.add_entries(entries)
    }

    /// Accounts `n` more entries of the page last taken.
    pub fn add_entries(&mut self, n: usize) -> Result<()> {
        self.entries = self.entries.saturating_add(n);
        if self.pages > MAX_PAGES || self.entries > MAX_ENTRIES || self.bytes > MAX_LISTING_BYTES {
            return Err(Error::Invalid {
                what: self.what.clone(),
                detail: format!(
                    "more than {MAX_PAGES} pages, {MAX_ENTRIES} entries or {} MiB; stopped \
                     reading (the registry keeps sending more)",
                    MAX_LISTING_BYTES >> 20
                ),
            });
        }
        Ok(())
    }
}

/// Reads a response body, refusing more than `limit` bytes.
pub async fn read_limited(
    mut resp: Response,
    limit: u64,
    what: &str,
    registry: &str,
) -> Result<Vec<u8>> {
    if let Some(len) = resp.content_length() {
        if len > limit {
            return Err(Error::TooLarge {
                what: what.to_string(),
                limit,
            });
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::from_transport(registry, &e))?
    {
        if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
            return Err(Error::TooLarge {
                what: what.to_string(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A header's value when it is visible ASCII.
pub fn header_str(h: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Extracts the `rel="next"` target of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    for part in link.split(',') {
        let part = part.trim();
        let (url, params) = part.split_once(';').unwrap_or((part, ""));
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        if params.split(';').any(|p| {
            matches!(
                p.trim().replace(' ', "").as_str(),
                "rel=\"next\"" | "rel=next"
            )
        }) {
            return Some(url.to_string());
        }
    }
    None
}

/// Scheme, host and port of a URL (the port made explicit), for origin comparisons.
pub fn origin(url: &str) -> Option<(String, String, u16)> {
    let u = Url::parse(url).ok()?;
    Some((
        u.scheme().to_string(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default()?,
    ))
}

/// Whether two URLs share scheme, host and port.
pub fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

/// `host[:port]` of a URL, for messages.
pub fn host_of(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        })
        .unwrap_or_else(|| url.to_string())
}

/// Whether a method only reads (and so may be followed through redirects).
pub fn is_read(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

/// Sends one request on a client that follows no redirects, following them here for reads only:
/// `auth` goes only to URLs of `auth_origin`'s origin, never across a redirect to another host. A
/// redirect answering a request that changes something is refused. Returns the final response.
pub async fn send_following(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    auth: Option<&HeaderValue>,
    auth_origin: &str,
    registry: &str,
    build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
) -> Result<Response> {
    let mut url = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let mut rb = build(http.request(method.clone(), &url));
        if let Some(h) = auth.filter(|_| same_origin(&url, auth_origin)) {
            rb = rb.header(AUTHORIZATION, h.clone());
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| Error::from_transport(registry, &e))?;
        if !resp.status().is_redirection() || resp.status().as_u16() == 304 {
            return Ok(resp);
        }
        let Some(location) = header_str(resp.headers(), LOCATION) else {
            return Ok(resp);
        };
        let next = resp
            .url()
            .join(location)
            .map_err(|_| Error::Invalid {
                what: "redirect".into(),
                detail: format!("Location {location:?} is not a URL"),
            })?
            .to_string();
        if !is_read(&method) {
            return Err(Error::Redirected {
                what: format!("{method} {}", resp.url().path()),
                to: host_of(&next),
            });
        }
        if !next.starts_with("https://") && !next.starts_with("http://") {
            return Err(Error::Invalid {
                what: "redirect".into(),
                detail: "only http and https redirects are followed".into(),
            });
        }
        url = next;
    }
    Err(Error::Invalid {
        what: "redirect".into(),
        detail: format!("more than {MAX_REDIRECTS} redirects"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_headers() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=10>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=b&n=10")
        );
        assert_eq!(
            next_link(r#"<https://x/a>; rel="prev", <https://x/b>; rel=next"#).as_deref(),
            Some("https://x/b")
        );
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn page_budget_stops_an_endless_listing() {
        let mut b = PageBudget::new("tags");
        for _ in 0..99 {
            b.take(10_000, 100_000).unwrap();
        }
        b.take(10_000, 100_000).unwrap();
        let e = b.take(1, 10).unwrap_err().to_string();
        assert!(
            e.contains("invalid tags: more than") && e.contains("stopped"),
            "{e}"
        );
        let mut b = PageBudget::new("x");
        assert!(b.take(0, usize::MAX).is_err(), "bytes count too");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert!(same_origin(
            "https://r.example/v2/",
            "https://R.example:443/x"
        ));
        assert!(!same_origin("https://r.example/", "http://r.example/"));
        assert!(!same_origin(
            "https://r.example/",
            "https://r.example:5000/"
        ));
        assert!(!same_origin("https://r.example/", "https://cdn.example/"));
        assert!(!same_origin("not a url", "not a url"));
        assert_eq!(host_of("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
    }
}
