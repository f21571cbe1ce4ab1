//! The one HTTP/2 connection to BuildKit.
//!
//! BuildKit runs a gRPC server on the frontend's stdin/stdout (two pipes) and
//! the frontend is the h2c client (prior knowledge, no TLS). There is exactly
//! one connection for the process lifetime: hyper's HTTP/2 client handshakes
//! once over the stdio stream, and nothing can "reconnect" by wrapping the
//! same fds twice.
//!
//! The stream is wrapped in [`WatchedIo`], which reports end-of-stream (or a
//! read/write error) through a [`Closed`] handle, so the driver can stop
//! within milliseconds when BuildKit hangs up.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

use hyper::client::conn::http2;
use hyper_util::rt::TokioExecutor;

/// BuildKit's own limit for requests before v0.14 (Docker 20.10): 4 MiB.
pub const MAX_REQUEST_BYTES: usize = 4 << 20;
/// BuildKit's limit for requests since v0.14: 16 MiB (observed.md: v0.24
/// rejects over 16 MiB). Used once Ping shows a v0.14+ server.
pub const MAX_REQUEST_BYTES_V014: usize = 16 << 20;
/// An LLB cap first defined by BuildKit v0.14 (llb-wire.md §5): a server
/// that has it accepts 16 MiB requests.
pub const V014_LLB_CAP: &str = "file.copy.alwaysreplaceexistingdestpaths";
/// What we accept from BuildKit (its own send limit since v0.14).
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// Fires once the peer closed the stream (EOF or I/O error).
#[derive(Clone, Debug)]
pub struct Closed(watch::Receiver<bool>);

impl Closed {
    /// Resolves when the connection is gone. Never resolves while it is up.
    pub async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                // Sender dropped together with the stream: gone as well.
                return;
            }
        }
    }
    pub fn is_closed(&self) -> bool {
        *self.0.borrow()
    }
}

/// An `AsyncRead + AsyncWrite` that notes EOF and I/O errors.
pub struct WatchedIo<T> {
    inner: T,
    closed: watch::Sender<bool>,
}

impl<T> WatchedIo<T> {
    pub fn new(inner: T) -> (Self, Closed) {
        let (tx, rx) = watch::channel(false);
        (WatchedIo { inner, closed: tx }, Closed(rx))
    }
    fn mark_closed(&self) {
        self.closed.send_replace(true);
    }
}

impl<T> Drop for WatchedIo<T> {
    fn drop(&mut self) {
        self.mark_closed();
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &r {
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                self.mark_closed()
            }
            Poll::Ready(Err(_)) => self.mark_closed(),
            _ => {}
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Err(_)) = &r {
            self.mark_closed();
        }
        r
    }
    /// Vectored writes pass through (the pipe supports them): h2 then
    /// writes a DATA frame's header and payload in one `writev` instead of
    /// two `write`s (a 6 MB Definition is ~400 frames).
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Err(_)) = &r {
            self.mark_closed();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Read half + write half joined into one bidirectional stream.
pub struct Joined<R, W> {
    pub read: R,
    pub write: W,
}

impl<R: AsyncRead + Unpin, W: Unpin> AsyncRead for Joined<R, W> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for Joined<R, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.write.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_shutdown(cx)
    }
}

/// fd 0 (read) and fd 1 (write) as one stream. BuildKit gives the frontend
/// two pipes; they are switched to non-blocking mode and registered with
/// tokio. Must be called inside a tokio runtime.
pub fn stdio_stream() -> io::Result<PipeStream> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: fds 0 and 1 are open for the whole process lifetime and
    // nothing else in this process uses them (logs go to stderr).
    let stdin = unsafe { OwnedFd::from_raw_fd(0) };
    let stdout = unsafe { OwnedFd::from_raw_fd(1) };
    pipe_stream(stdin, stdout)
}

/// Two pipe fds as one stream.
pub type PipeStream = Joined<tokio::net::unix::pipe::Receiver, tokio::net::unix::pipe::Sender>;

/// A read fd and a write fd (pipes or FIFOs) joined into one stream.
pub fn pipe_stream(
    read: std::os::fd::OwnedFd,
    write: std::os::fd::OwnedFd,
) -> io::Result<PipeStream> {
    // The checked constructors switch the fds to O_NONBLOCK. The `_unchecked`
    // ones do not: a read on BuildKit's blocking pipe then parks a runtime
    // worker inside read(2) while the HTTP/2 task that would send our next
    // request waits on it, and the build hangs (seen under load).
    let read = tokio::net::unix::pipe::Receiver::from_owned_fd(read)?;
    let write = tokio::net::unix::pipe::Sender::from_owned_fd(write)?;
    Ok(Joined { read, write })
}

/// The one HTTP/2 connection as a tower service for `tonic::client::Grpc`.
///
/// hyper's HTTP/2 client handshakes exactly once over the given stream, so
/// there is nothing that could reconnect (tonic's own `Channel` would bring a
/// reconnecting, load-balancing stack, and ~200 KB, for a connection that can
/// only ever exist once). Requests get the `http://localhost` origin that
/// HTTP/2 needs for its `:scheme`/`:authority` pseudo-headers.
#[derive(Clone, Debug)]
pub struct Channel {
    send: http2::SendRequest<tonic::body::Body>,
}

impl tower::Service<http::Request<tonic::body::Body>> for Channel {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        let mut parts = req.uri().clone().into_parts();
        parts.scheme = Some(http::uri::Scheme::HTTP);
        parts.authority = Some(http::uri::Authority::from_static("localhost"));
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
        Box::pin(self.send.send_request(req))
    }
}

/// Open the HTTP/2 (h2c, prior knowledge) connection over `io`. Returns the
/// channel and the handle that fires when the peer closes the stream. The
/// connection is driven by a spawned task for the rest of the process.
pub async fn connect<IO>(io: IO) -> Result<(Channel, Closed), hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (io, closed) = WatchedIo::new(io);
    let (send, conn) = http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(io))
        .await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("slipway frontend: connection to BuildKit ended: {e}");
        }
    });
    Ok((Channel { send }, closed))
}
