//! Accepting and serving connections (HTTP/1.1 with keep-alive, by hyper). Each connection gets
//! a number, its peer address, a kill switch that lets a fault close it without a reply (once
//! killed, every read or write on it fails, so the HTTP server gives up on the connection and
//! closes the socket), and a watchdog that closes it when the client is too slow or silent
//! (see [`Timeouts`]).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::service::{self, Shared};

/// How long requests still in flight may finish after shutdown starts; connections still open
/// then are closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// When the server closes a connection on its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// From the first byte of a request to the end of its head; `None`: no limit.
    pub(crate) header_read: Option<Duration>,
    /// Silence from the client while the server waits for it (between requests, or in the
    /// middle of a head or a body); `None`: no limit.
    pub(crate) idle: Option<Duration>,
}

/// What a request knows about its connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    /// 1 for the first accepted connection, then counting up.
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    killed: Arc<AtomicBool>,
    activity: Arc<Activity>,
}

impl ConnInfo {
    /// Makes the connection fail: the reply being written is never sent and the socket closes.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Release);
    }

    /// Marks a request as being handled until the guard is dropped: the connection's timeouts
    /// wait meanwhile (the handler bounds its own wait for the body).
    pub(crate) fn busy(&self) -> Busy {
        self.activity.update(|state, now| {
            state.busy = state.busy.saturating_add(1);
            state.head_started = None;
            state.last = now;
        });
        Busy(Arc::clone(&self.activity))
    }
}

/// A request in the hands of the handler (see [`ConnInfo::busy`]).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.update(|state, now| {
            state.busy = state.busy.saturating_sub(1);
            state.last = now;
        });
    }
}

/// What the connection's watchdog looks at: when the client last sent or received something,
/// when the head of the request being received started, and whether a handler is at work.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

#[derive(Debug, Clone, Copy)]
struct ActivityState {
    last: Instant,
    head_started: Option<Instant>,
    busy: u32,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            state: Mutex::new(ActivityState {
                last: Instant::now(),
                head_started: None,
                busy: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut ActivityState, Instant)) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut state, Instant::now());
        drop(state);
        self.changed.notify_one();
    }

    fn snapshot(&self) -> ActivityState {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes came from the client: the first ones while no request is being handled start a
    /// request head (and its header-read clock).
    fn read(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        state.last = now;
        let head_starts = state.busy == 0 && state.head_started.is_none();
        if head_starts {
            state.head_started = Some(now);
        }
        drop(state);
        if head_starts {
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.last = Instant::now();
    }
}

/// Resolves when the connection has been silent or slow for longer than the timeouts allow.
async fn watchdog(activity: Arc<Activity>, timeouts: Timeouts) {
    loop {
        let state = activity.snapshot();
        let idle_deadline = timeouts.idle.and_then(|idle| state.last.checked_add(idle));
        let head_deadline = state
            .head_started
            .zip(timeouts.header_read)
            .and_then(|(started, limit)| started.checked_add(limit));
        let deadline = match (idle_deadline, head_deadline) {
            _ if state.busy > 0 => None,
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match deadline {
            Some(deadline) if deadline <= Instant::now() => return,
            Some(deadline) => {
                tokio::select! {
                    () = activity.changed.notified() => {}
                    () = tokio::time::sleep_until(deadline) => {}
                }
            }
            None => activity.changed.notified().await,
        }
    }
}

/// Accepts connections and serves each on its own task until `stopped` says stop; then lets
/// requests in flight finish for [`SHUTDOWN_GRACE`] (idle connections close at once).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    timeouts: Timeouts,
    stopped: watch::Receiver<bool>,
) {
    let mut stop = stopped.clone();
    let mut connections = JoinSet::new();
    let mut accepted: u64 = 0;
    loop {
        tokio::select! {
            accept = listener.accept() => match accept {
                Ok((stream, peer)) => {
                    // Replies go out in one write; do not let Nagle hold them back.
                    let _ = stream.set_nodelay(true);
                    accepted = accepted.saturating_add(1);
                    let info = ConnInfo {
                        id: accepted,
                        peer,
                        killed: Arc::new(AtomicBool::new(false)),
                        activity: Arc::new(Activity::new()),
                    };
                    let io = FakeIo { stream, info: info.clone() };
                    connections.spawn(connection(io, info, Arc::clone(&shared), timeouts, stopped.clone()));
                }
                // A connection that failed before it was accepted: take the next one.
                Err(e) if is_connection_error(&e) => {}
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            },
            Some(_) = connections.join_next() => {}
            // An error means the handle is gone: stop as well.
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// Serves one connection until the client closes it, a timeout closes it, or shutdown.
async fn connection(
    io: FakeIo,
    info: ConnInfo,
    shared: Arc<Shared>,
    timeouts: Timeouts,
    mut stopped: watch::Receiver<bool>,
) {
    let activity = Arc::clone(&info.activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let shared = Arc::clone(&shared);
        let info = info.clone();
        async move {
            let request = request.map(Body::new);
            Ok::<_, Infallible>(service::handle(shared, info, request).await)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let watchdog = watchdog(activity, timeouts);
    tokio::pin!(watchdog);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            // An error means the client went away or broke the protocol: the connection ends.
            _ = conn.as_mut() => return,
            // Too slow or silent: dropping the connection closes the socket.
            () = watchdog.as_mut() => return,
            _ = stopped.wait_for(|stop| *stop), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A TCP stream with a kill switch.
#[derive(Debug)]
pub(crate) struct FakeIo {
    stream: TcpStream,
    info: ConnInfo,
}

impl FakeIo {
    fn check(&self) -> io::Result<()> {
        if self.info.killed.load(Ordering::Acquire) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "dropped by an injected fault",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for FakeIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.info.activity.read();
        }
        polled
    }
}

impl AsyncWrite for FakeIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.info.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.info.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
