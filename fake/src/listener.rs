//! Accepting connections: each gets a number, its peer address, and a kill switch that lets a
//! fault close it without a reply (once killed, every read or write on it fails, so the HTTP
//! server gives up on the connection and closes the socket).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// What a request knows about its connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    /// 1 for the first accepted connection, then counting up.
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    killed: Arc<AtomicBool>,
}

impl ConnInfo {
    /// Makes the connection fail: the reply being written is never sent and the socket closes.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Release);
    }
}

/// A TCP listener that hands out [`FakeIo`]s.
#[derive(Debug)]
pub(crate) struct FakeListener {
    inner: TcpListener,
    accepted: u64,
}

impl FakeListener {
    pub(crate) fn new(inner: TcpListener) -> FakeListener {
        FakeListener { inner, accepted: 0 }
    }
}

impl Listener for FakeListener {
    type Io = FakeIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (FakeIo, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    // Replies go out in one write; do not let Nagle hold them back.
                    let _ = stream.set_nodelay(true);
                    self.accepted += 1;
                    let info = ConnInfo {
                        id: self.accepted,
                        peer,
                        killed: Arc::new(AtomicBool::new(false)),
                    };
                    return (FakeIo { stream, info }, peer);
                }
                // A connection that failed before it was accepted: take the next one.
                Err(e) if is_connection_error(&e) => {}
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
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

impl Connected<IncomingStream<'_, FakeListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, FakeListener>) -> ConnInfo {
        stream.io().info.clone()
    }
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
        Pin::new(&mut this.stream).poll_read(cx, buf)
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
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
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
