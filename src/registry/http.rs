//! The HTTP layer every registry client shares: bounded body reads, header and `Link` parsing,
//! origins, redirects followed by hand so credentials never leave the registry's origin, and per
//! host the adaptive in-flight limit, request priorities, read retries with backoff and the pause
//! that `Retry-After` puts on the whole host.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode, Url};

use super::error::{Error, Result};

/// Tries of one read at most (the first and three retries).
pub const MAX_TRIES: u32 = 4;
/// First backoff between tries; it doubles each time, with jitter.
pub const BACKOFF: Duration = Duration::from_millis(200);
/// Longest pause a `Retry-After` can put on a host.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);
/// Starting in-flight limit of the adaptive limiter.
pub const ADAPTIVE_START: usize = 16;
/// Highest in-flight limit the adaptive limiter reaches.
pub const ADAPTIVE_MAX: usize = 64;

/// How urgent a request is: what the user just opened goes before background detail loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Detail loading the user is not looking at.
    Background,
    /// What the user opened or sees.
    Interactive,
}

tokio::task_local! {
    /// The priority of the requests made inside [`with_priority`].
    static PRIORITY: Priority;
}

/// Runs `fut` with its requests at priority `p` (interactive where not set).
pub async fn with_priority<F: std::future::Future>(p: Priority, fut: F) -> F::Output {
    PRIORITY.scope(p, fut).await
}

fn current_priority() -> Priority {
    PRIORITY.try_with(|p| *p).unwrap_or(Priority::Interactive)
}

/// How many requests may be in flight to one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Starts at [`ADAPTIVE_START`], grows while latency stays flat, halves on overload, up to `max`.
    Adaptive { max: usize },
    /// Exactly this many.
    Fixed(usize),
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency::Adaptive { max: ADAPTIVE_MAX }
    }
}

impl Concurrency {
    /// The most requests this setting can ever allow (for connection pools and stream buffers).
    pub fn ceiling(self) -> usize {
        match self {
            Concurrency::Adaptive { max } => max.max(1),
            Concurrency::Fixed(n) => n.max(1),
        }
    }
}

#[derive(Debug)]
struct LimitState {
    /// The current limit (fractional: additive increase adds 1/limit per success).
    limit: f64,
    in_flight: usize,
    /// Interactive requests waiting: background ones wait behind them.
    urgent_waiting: usize,
    /// Lowest round trip seen in the current window, and the window's samples so far.
    min_rtt: Option<Duration>,
    window_min: Option<Duration>,
    samples: u32,
    /// No overload seen yet: grow fast (one per success, doubling per round trip).
    slow_start: bool,
    last_decrease: Option<Instant>,
}

/// A per-host in-flight limit (AIMD with a latency gradient) that hands out permits by priority.
#[derive(Debug)]
pub struct Limiter {
    mode: Concurrency,
    state: Mutex<LimitState>,
    notify: tokio::sync::Notify,
}

/// What a finished request tells the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered (whatever the status, but for the overload ones).
    Ok,
    /// 429, 503 or a timeout: the host is overloaded.
    Overload,
    /// Says nothing about load (a connection that failed before it started).
    Ignore,
}

/// A place in flight; released when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    /// Whether the limit was (nearly) reached when this permit was taken: only then does a fast
    /// answer argue for a higher limit.
    saturated: bool,
    started: Instant,
}

impl Permit<'_> {
    /// Reports how the request went (once); the round trip is measured from the permit.
    pub fn finish(self, signal: Signal) {
        self.limiter
            .feedback(self.started.elapsed(), signal, self.saturated);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut s = self.limiter.state.lock().unwrap();
        s.in_flight = s.in_flight.saturating_sub(1);
        drop(s);
        self.limiter.notify.notify_waiters();
    }
}

/// Decrements the urgent-waiter count if an interactive acquire is abandoned.
struct Waiting<'a>(&'a Limiter, bool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.1 {
            let mut s = self.0.state.lock().unwrap();
            s.urgent_waiting = s.urgent_waiting.saturating_sub(1);
            drop(s);
            self.0.notify.notify_waiters();
        }
    }
}

impl Limiter {
    /// A limiter in the given mode.
    pub fn new(mode: Concurrency) -> Self {
        let start = match mode {
            Concurrency::Adaptive { max } => ADAPTIVE_START.min(max.max(1)),
            Concurrency::Fixed(n) => n.max(1),
        };
        Limiter {
            mode,
            state: Mutex::new(LimitState {
                limit: start as f64,
                in_flight: 0,
                urgent_waiting: 0,
                min_rtt: None,
                window_min: None,
                samples: 0,
                slow_start: true,
                last_decrease: None,
            }),
            notify: tokio::sync::Notify::new(),
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.state.lock().unwrap().limit as usize
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.state.lock().unwrap().in_flight
    }

    /// Waits for a place in flight at the task's priority ([`with_priority`]).
    pub async fn acquire(&self) -> Permit<'_> {
        let urgent = current_priority() == Priority::Interactive;
        let mut waiting = Waiting(self, false);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.state.lock().unwrap();
                let limit = (s.limit as usize).max(1);
                let others_first = !urgent && s.urgent_waiting > 0;
                if s.in_flight < limit && !others_first {
                    s.in_flight += 1;
                    let saturated = s.in_flight + 1 >= limit;
                    if waiting.1 {
                        s.urgent_waiting = s.urgent_waiting.saturating_sub(1);
                        waiting.1 = false;
                    }
                    return Permit {
                        limiter: self,
                        saturated,
                        started: Instant::now(),
                    };
                }
                if urgent && !waiting.1 {
                    s.urgent_waiting += 1;
                    waiting.1 = true;
                }
            }
            notified.await;
        }
    }

    fn feedback(&self, rtt: Duration, signal: Signal, saturated: bool) {
        let Concurrency::Adaptive { max } = self.mode else {
            return;
        };
        let max = max.max(1) as f64;
        let mut s = self.state.lock().unwrap();
        match signal {
            Signal::Ignore => {}
            Signal::Overload => {
                // Halve at most once per round trip, so one burst of 429s counts once.
                let recent = s.last_decrease.is_some_and(|t| {
                    t.elapsed()
                        < s.min_rtt
                            .unwrap_or(Duration::from_millis(100))
                            .max(Duration::from_millis(50))
                });
                if !recent {
                    s.limit = (s.limit / 2.0).max(1.0);
                    s.last_decrease = Some(Instant::now());
                }
                s.slow_start = false;
            }
            Signal::Ok => {
                s.window_min = Some(s.window_min.map_or(rtt, |m| m.min(rtt)));
                s.samples += 1;
                if s.samples >= 200 {
                    // A new window: the floor follows the path (a route that got slower).
                    s.min_rtt = s.window_min;
                    s.window_min = None;
                    s.samples = 0;
                }
                let floor = match s.min_rtt {
                    Some(m) => m.min(s.window_min.unwrap_or(m)),
                    None => s.window_min.unwrap_or(rtt),
                };
                s.min_rtt = Some(floor);
                // Latency flat: within twice the floor plus a little scheduling noise.
                let flat = rtt <= floor * 2 + Duration::from_millis(5);
                if flat && saturated {
                    let step = if s.slow_start {
                        1.0
                    } else {
                        1.0 / s.limit.max(1.0)
                    };
                    s.limit = (s.limit + step).min(max);
                } else if !flat && rtt > floor * 4 + Duration::from_millis(20) {
                    // Queueing somewhere: back off gently (once per round trip, and not below
                    // the start: requests of different kinds simply differ in latency) and leave
                    // slow start.
                    let recent = s.last_decrease.is_some_and(|t| t.elapsed() < rtt);
                    if !recent {
                        let start = ADAPTIVE_START.min(max as usize) as f64;
                        s.limit = (s.limit * 0.9).max(start.min(s.limit));
                        s.last_decrease = Some(Instant::now());
                    }
                    s.slow_start = false;
                }
            }
        }
        drop(s);
        self.notify.notify_waiters();
    }
}

/// Everything per host: the limiter and the `Retry-After` pause.
#[derive(Debug)]
pub struct Host {
    pub limiter: Limiter,
    paused_until: Mutex<Option<Instant>>,
}

impl Host {
    /// A host with the given concurrency.
    pub fn new(mode: Concurrency) -> Self {
        Host {
            limiter: Limiter::new(mode),
            paused_until: Mutex::new(None),
        }
    }

    /// Pauses every request to this host for `d` (capped at [`MAX_PAUSE`]); true when this
    /// started or lengthened the pause.
    pub fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d.min(MAX_PAUSE);
        let mut p = self.paused_until.lock().unwrap();
        if p.is_none_or(|old| old < until) {
            *p = Some(until);
            return true;
        }
        false
    }

    /// How long this host is still paused, if it is.
    pub fn paused_for(&self) -> Option<Duration> {
        let p = *self.paused_until.lock().unwrap();
        p.and_then(|t| t.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Waits out a pause, if one is on.
    pub async fn wait_pause(&self) {
        while let Some(d) = self.paused_for() {
            tokio::time::sleep(d).await;
        }
    }
}

/// Statuses a read is retried on.
pub fn retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a status says the host is overloaded (the limiter halves).
pub fn overload_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 503)
}

/// The backoff before try `attempt + 1`: 0.2 s doubling, with up to 50 % jitter.
pub fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF.saturating_mul(1 << attempt.min(6));
    // Jitter from the clock's nanoseconds: no generator needed for spreading retries.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// `Retry-After` as a duration: seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = header_str(h, RETRY_AFTER)?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = months.iter().position(|x| *x == month)? + 1;
    let day: u32 = day.parse().ok()?;
    let at = super::model::unix_seconds(&format!("{year}-{m:02}-{day:02}T{time}Z"))?;
    let now = super::model::now_unix();
    Some(Duration::from_secs(at.saturating_sub(now).max(0) as u64))
}

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

    /// Accounts `n` more bytes read for this listing (next-page URLs count too).
    pub fn add_bytes(&mut self, n: usize) -> Result<()> {
        self.bytes = self.bytes.saturating_add(n as u64);
        self.add_entries(0)
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
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(12)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        assert!(backoff(0) >= BACKOFF && backoff(0) <= BACKOFF * 3 / 2);
        assert!(backoff(3) >= BACKOFF * 8);
        assert!(backoff(u32::MAX) <= BACKOFF * 64 * 3 / 2, "bounded");
    }

    #[tokio::test]
    async fn the_limiter_grows_when_flat_halves_on_overload_and_serves_interactive_first() {
        let l = Limiter::new(Concurrency::Adaptive { max: 64 });
        assert_eq!(l.limit(), 16);
        for _ in 0..200 {
            let p = l.acquire().await;
            // Pretend the limit was reached, with flat latency.
            l.feedback(Duration::from_millis(10), Signal::Ok, true);
            drop(p);
        }
        assert_eq!(l.limit(), 64, "capped");
        l.feedback(Duration::from_millis(10), Signal::Overload, false);
        assert_eq!(l.limit(), 32);
        l.feedback(Duration::from_millis(10), Signal::Overload, false);
        assert_eq!(l.limit(), 32, "one halving per round trip");
        let fixed = Limiter::new(Concurrency::Fixed(3));
        fixed.feedback(Duration::from_millis(1), Signal::Overload, true);
        assert_eq!(fixed.limit(), 3);

        // Interactive waiters go first once a place frees up.
        let l = std::sync::Arc::new(Limiter::new(Concurrency::Fixed(1)));
        let held = l.acquire().await;
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, p) in [("bg", Priority::Background), ("ui", Priority::Interactive)] {
            let (l, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(with_priority(p, async move {
                let permit = l.acquire().await;
                order.lock().unwrap().push(name);
                drop(permit);
            })));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["ui", "bg"]);
    }

    #[test]
    fn requests_of_different_latencies_do_not_collapse_the_limit() {
        let l = Limiter::new(Concurrency::Adaptive { max: 64 });
        for i in 0..2000 {
            let rtt = if i % 2 == 0 { 2 } else { 60 };
            l.feedback(Duration::from_millis(rtt), Signal::Ok, true);
        }
        assert!(l.limit() >= ADAPTIVE_START, "limit {}", l.limit());
    }

    #[test]
    fn a_pause_holds_the_whole_host_and_is_capped() {
        let h = Host::new(Concurrency::default());
        assert_eq!(h.paused_for(), None);
        h.pause(Duration::from_secs(3600));
        let left = h.paused_for().unwrap();
        assert!(left <= MAX_PAUSE && left > MAX_PAUSE - Duration::from_secs(1));
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
