//! The HTTP side: hyper's HTTP/1.1 server on a small tokio runtime, with tower for the request
//! deadline, the in-flight request limit and load shedding. Why these: hyper is the HTTP
//! implementation most of the Rust ecosystem (and its security reviews) stands on, and tokio
//! serves each connection as a task of a few kilobytes, so a client that sends one byte every
//! few seconds costs a parked task and a socket, never a thread or a lock; tower's layers are the
//! standard way to put deadlines and limits around such a service. axum would add routing this
//! four-path server does not need.
//!
//! What keeps slow and hostile clients from starving `/metrics` and `/healthz`:
//! - a whole-connection deadline ([`WebLimits::connection_timeout`]) from accept to the last
//!   byte, TLS handshake, request head and answer included, on top of hyper's own deadline for
//!   the request head ([`WebLimits::header_timeout`]); one request per connection, so no idle
//!   keep-alive connection outlives its request;
//! - the request head capped ([`WebLimits::max_head_bytes`], at most 100 headers): hyper answers
//!   431 past it;
//! - at most [`WebLimits::max_connections`] connections; past that a connection is answered 503
//!   at once and closed, never queued behind the slow ones;
//! - at most [`WebLimits::max_requests`] requests in flight (node_exporter's
//!   `--web.max-requests`), the rest shed with 503, each with a deadline of its own
//!   ([`WebLimits::request_timeout`]);
//! - rendering and bcrypt run on the blocking pool, so the async workers only move bytes.
//!
//! Like exporter-toolkit, which rereads its web config for every connection, a changed web
//! config, certificate or key is picked up without a restart (cert-manager renewing a Secret):
//! [`Live`] looks at the files' stamps at most once a second, on a new connection, and keeps
//! what it has when the new files do not load.

use super::auth::BasicAuth;
use super::config::WebConfig;
use crate::exposition::{self, Format};
use crate::state::{AgentState, WebStats, lock};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{ServiceBuilder, ServiceExt};

/// Default of [`WebLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 512;
/// Default of [`WebLimits::max_requests`] (node_exporter's `--web.max-requests` default).
pub const DEFAULT_MAX_REQUESTS: u32 = 40;

/// The HTTP server's bounds.
#[derive(Debug, Clone)]
pub struct WebLimits {
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Requests being answered at once; more are answered 503 (shed, not queued).
    pub max_requests: usize,
    /// Time a client has to send the request head once it starts (hyper's header deadline).
    pub header_timeout: Duration,
    /// Time the agent has to answer one request.
    pub request_timeout: Duration,
    /// Time a whole connection may last: TLS handshake, request, answer.
    pub connection_timeout: Duration,
    /// Bytes of request line and headers read before answering 431 (at least 8 KiB: hyper's
    /// smallest read buffer).
    pub max_head_bytes: usize,
}

impl Default for WebLimits {
    fn default() -> Self {
        WebLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
            max_requests: DEFAULT_MAX_REQUESTS as usize,
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(15),
            max_head_bytes: 16 << 10,
        }
    }
}

type Answer = Response<Full<Bytes>>;

/// What the request handlers share.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub state: Arc<Mutex<AgentState>>,
    /// A follower silent for longer than this is stuck.
    pub stale: Duration,
    pub auth: Option<Arc<BasicAuth>>,
    pub excluded: Arc<Vec<String>>,
    pub headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl App {
    /// The handlers' side of a web config (basic auth, excluded paths, extra headers).
    pub fn new(state: Arc<Mutex<AgentState>>, stale: Duration, web: &WebConfig) -> App {
        let auth = (!web.basic_auth_users.is_empty()).then(|| Arc::new(BasicAuth::new(web.basic_auth_users.clone())));
        let headers = web
            .headers
            .iter()
            .filter_map(|(k, v)| {
                Some((HeaderName::try_from(k.as_str()).ok()?, HeaderValue::try_from(v.as_str()).ok()?))
            })
            .collect();
        App { state, stale, auth, excluded: Arc::new(web.auth_excluded_paths.clone()), headers: Arc::new(headers) }
    }
}

fn answer(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    answer(status, "text/plain; charset=utf-8", body)
}

const LANDING: &str = "<html><head><title>gpuguard agent</title></head><body><h1>gpuguard agent</h1>\
<p><a href=\"/metrics\">/metrics</a> <a href=\"/healthz\">/healthz</a> <a href=\"/livez\">/livez</a></p></body></html>\n";

/// Answers one request.
async fn handle(app: App, req: Request<Incoming>) -> Answer {
    let mut r = route(&app, &req).await;
    for (k, v) in app.headers.iter() {
        r.headers_mut().insert(k.clone(), v.clone());
    }
    r
}

async fn route(app: &App, req: &Request<Incoming>) -> Answer {
    let path = req.uri().path();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if let Some(auth) = app.auth.as_ref().filter(|_| !app.excluded.iter().any(|p| p == path)) {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let auth = Arc::clone(auth);
        if !tokio::task::spawn_blocking(move || auth.allows(given.as_deref())).await.unwrap_or(false) {
            let mut r = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            return r;
        }
    }
    match path {
        "/metrics" => {
            let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
            let format = Format::negotiate(accept);
            let state = Arc::clone(&app.state);
            // Families are gathered under the lock (a copy of counters), encoded after it.
            let page = tokio::task::spawn_blocking(move || {
                let families = crate::collector::gather(&lock(&state));
                exposition::encode(&families, format)
            })
            .await;
            match page {
                Ok(page) => answer(StatusCode::OK, format.content_type(), page),
                Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"),
            }
        }
        "/healthz" | "/livez" => {
            let state = lock(&app.state);
            let problems = if path == "/healthz" { state.problems(app.stale) } else { state.stuck(app.stale) };
            drop(state);
            if problems.is_empty() {
                text(StatusCode::OK, "ok\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, problems.join("\n") + "\n")
            }
        }
        "/" => answer(StatusCode::OK, "text/html; charset=utf-8", LANDING),
        _ => text(StatusCode::NOT_FOUND, "not found: try /metrics, /healthz or /livez\n"),
    }
}

/// A tower error (shed, or past the request deadline) as an answer, counted.
fn overloaded(result: Result<Answer, tower::BoxError>, stats: &WebStats) -> Answer {
    result.unwrap_or_else(|e| {
        stats.shed.fetch_add(1, Ordering::Relaxed);
        if e.is::<tower::timeout::error::Elapsed>() {
            text(StatusCode::SERVICE_UNAVAILABLE, "the answer took too long\n")
        } else {
            text(StatusCode::SERVICE_UNAVAILABLE, "too many requests at once\n")
        }
    })
}

/// What identifies a version of a file: modification time, size, inode.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamps(files: &[PathBuf]) -> Vec<Stamp> {
    use std::os::unix::fs::MetadataExt;
    // metadata() follows symlinks: a Secret volume's atomic `..data` swap changes the target.
    files.iter().map(|f| std::fs::metadata(f).ok().and_then(|m| Some((m.modified().ok()?, m.len(), m.ino())))).collect()
}

/// The web config being served, reloaded when its files change.
pub(crate) struct Live {
    path: Option<PathBuf>,
    files: Vec<PathBuf>,
    stamps: Vec<Stamp>,
    checked: Instant,
    state: Arc<Mutex<AgentState>>,
    stale: Duration,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: App,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").field("path", &self.path).field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl Live {
    /// What `web` (read from `path`, if any) serves, with its TLS already built.
    pub fn new(
        path: Option<PathBuf>,
        web: &WebConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
        state: Arc<Mutex<AgentState>>,
        stale: Duration,
    ) -> Live {
        let app = App::new(Arc::clone(&state), stale, web);
        Live {
            path,
            files: web.files.clone(),
            stamps: stamps(&web.files),
            checked: Instant::now(),
            state,
            stale,
            tls: tls.map(tokio_rustls::TlsAcceptor::from),
            app,
        }
    }

    /// Whether it is time to look at the files again (a web config is in use, and a second has
    /// passed since the last look).
    fn due(&self) -> bool {
        self.path.is_some() && self.checked.elapsed() >= Duration::from_secs(1)
    }

    /// Reloads the web config when one of its files changed (looked at once a second at most).
    /// A config that does not load, or that would turn TLS on or off (the scheme scrapers use),
    /// is reported and the current one kept.
    fn refresh(&mut self) {
        let Some(path) = self.path.clone() else { return };
        if self.checked.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.checked = Instant::now();
        let now = stamps(&self.files);
        if now == self.stamps {
            return;
        }
        self.stamps = now;
        let loaded = WebConfig::load(&path).and_then(|web| {
            let tls = web.tls.as_ref().map(super::tls::server_config).transpose()?;
            Ok((web, tls))
        });
        match loaded {
            Ok((_, tls)) if tls.is_some() != self.tls.is_some() => eprintln!(
                "gpuguard agent: --web.config.file {}: turning TLS on or off needs a restart; still serving the previous configuration",
                path.display()
            ),
            Ok((web, tls)) => {
                self.app = App::new(Arc::clone(&self.state), self.stale, &web);
                self.tls = tls.map(tokio_rustls::TlsAcceptor::from);
                self.stamps = stamps(&web.files);
                self.files = web.files;
                eprintln!("gpuguard agent: --web.config.file {}: reloaded", path.display());
            }
            Err(e) => eprintln!("gpuguard agent: --web.config.file {e}; still serving the previous configuration"),
        }
    }
}

/// Serves `listener` until `shutdown` is notified.
pub(crate) async fn serve(listener: std::net::TcpListener, mut live: Live, limits: WebLimits, shutdown: Arc<Notify>) {
    let listener = match listener.set_nonblocking(true).and_then(|()| tokio::net::TcpListener::from_std(listener)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gpuguard agent: cannot serve: {e}");
            return;
        }
    };
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let requests = Arc::new(Semaphore::new(limits.max_requests));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(false)
        .max_buf_size(limits.max_head_bytes.max(8192))
        .max_headers(100);
    let http = Arc::new(http);
    let mut last_accept_error = String::new();
    let stats = Arc::clone(&lock(&live.state).web);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.notified() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: say it once, do not spin.
                if e.to_string() != last_accept_error {
                    eprintln!("gpuguard agent: accept: {e}");
                    last_accept_error = e.to_string();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&connections).try_acquire_owned() else {
            stats.rejected.fetch_add(1, Ordering::Relaxed);
            // Full: answer at once rather than queue behind slow clients (best effort: the
            // socket buffer of a new connection takes this whole).
            let _ = stream.try_write(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n",
            );
            continue;
        };
        // Reading files and building TLS is blocking work: off the async path, and only when due.
        if live.due() {
            tokio::task::block_in_place(|| live.refresh());
        }
        // tower's layers bound the request; their errors (shed, deadline) become 503 answers.
        let limited = ServiceBuilder::new()
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::with_semaphore(Arc::clone(&requests)))
            .timeout(limits.request_timeout)
            .service_fn({
                let app = live.app.clone();
                move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(handle(app, req).await) }
                }
            });
        let service = hyper::service::service_fn({
            let stats = Arc::clone(&stats);
            move |req| {
                let (limited, stats) = (limited.clone(), Arc::clone(&stats));
                async move { Ok::<_, Infallible>(overloaded(limited.oneshot(req).await, &stats)) }
            }
        });
        let (tls, http, deadline) = (live.tls.clone(), Arc::clone(&http), limits.connection_timeout);
        let stats = Arc::clone(&stats);
        stats.connections.fetch_add(1, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let _slot = slot;
            let served = tokio::time::timeout(deadline, connection(stream, tls, &http, service));
            // Cut at the connection deadline (Err) or at hyper's request-head deadline (true).
            if served.await.unwrap_or(true) {
                stats.timed_out.fetch_add(1, Ordering::Relaxed);
            }
            stats.open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Serves one connection; returns whether hyper cut it at the request-head deadline.
async fn connection<S>(
    stream: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    http: &hyper::server::conn::http1::Builder,
    service: S,
) -> bool
where
    S: hyper::service::HttpService<Incoming, ResBody = Full<Bytes>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = stream.set_nodelay(true);
    let served = match tls {
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(stream) => http.serve_connection(TokioIo::new(stream), service).await,
            // A client that does not speak TLS (plain HTTP to this port) fails here.
            Err(_) => return false,
        },
        None => http.serve_connection(TokioIo::new(stream), service).await,
    };
    served.is_err_and(|e| e.is_timeout())
}
