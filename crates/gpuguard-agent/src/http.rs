//! The agent's HTTP side: just enough HTTP/1.1 for Prometheus and kubelet probes. `GET
//! /metrics`, `GET /healthz`, `HEAD` of both; one request per connection. Each connection gets its
//! own thread with read and write deadlines, and at most [`MAX_CONNECTIONS`] run at once, so a
//! slow or stuck scraper costs one thread for a few seconds and never holds the state lock: the
//! page is rendered under the lock, written after it is released.

use crate::state::AgentState;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Connections served at once; more are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 8;
/// How long a client may take to send its request, or to take the answer.
const DEADLINE: Duration = Duration::from_secs(10);
/// The request head is read up to this size.
const HEAD_MAX: usize = 8 << 10;

/// What `/healthz` needs: whether the followers are alive.
pub(super) type Health = dyn Fn(&AgentState) -> Result<(), String> + Send + Sync;

/// Accepts connections until `stop` is set (the stopper then connects once to wake `accept`).
pub(super) fn serve(listener: TcpListener, state: Arc<Mutex<AgentState>>, stop: Arc<AtomicBool>, health: Arc<Health>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = stream else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            // Take the request first (briefly): closing with it unread would reset the
            // connection, and the client would see an error instead of the 503.
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.read(&mut [0u8; 2048]);
            let _ = respond(&mut stream, "503 Service Unavailable", "text/plain", b"too many connections\n", false);
            continue;
        }
        let (state, slot, health) = (Arc::clone(&state), Arc::clone(&active), Arc::clone(&health));
        let spawned = std::thread::Builder::new().name("gpuguard-http".into()).spawn(move || {
            handle(stream, &state, &*health);
            slot.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            // No thread: the stream was dropped with the closure; free its slot.
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<AgentState>, health: &Health) {
    let _ = stream.set_read_timeout(Some(DEADLINE));
    let _ = stream.set_write_timeout(Some(DEADLINE));
    let Some((method, path)) = read_request_line(&mut stream) else {
        let _ = respond(&mut stream, "400 Bad Request", "text/plain", b"bad request\n", false);
        return;
    };
    let head = method == "HEAD";
    if method != "GET" && !head {
        let _ = respond(&mut stream, "405 Method Not Allowed", "text/plain", b"only GET and HEAD\n", false);
        return;
    }
    // The query string (Prometheus may add one) does not change the answer.
    let path = path.split('?').next().unwrap_or("");
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = match path {
        "/metrics" => {
            let body = lock().render();
            respond(&mut stream, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body.as_bytes(), head)
        }
        "/healthz" => match health(&lock()) {
            Ok(()) => respond(&mut stream, "200 OK", "text/plain", b"ok\n", head),
            Err(why) => respond(&mut stream, "503 Service Unavailable", "text/plain", format!("{why}\n").as_bytes(), head),
        },
        "/" => respond(&mut stream, "200 OK", "text/html", b"<html><body><h1>gpuguard agent</h1><a href=\"/metrics\">/metrics</a> <a href=\"/healthz\">/healthz</a></body></html>\n", head),
        _ => respond(&mut stream, "404 Not Found", "text/plain", b"not found: try /metrics or /healthz\n", head),
    };
}

/// Reads the request head and returns its method and target.
fn read_request_line(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() >= HEAD_MAX {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    version.starts_with("HTTP/1.").then(|| (method.to_owned(), target.to_owned()))
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}
