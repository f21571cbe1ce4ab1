//! Slipway as a BuildKit gateway frontend: the LLBBridge gRPC client over
//! stdin/stdout ([`transport`], [`client`]), the frontend options
//! ([`options`]) and the driver that turns a spec into a Return ([`driver`]).
//!
//! Nothing in this crate writes to stdout: it carries HTTP/2 frames only.
//! Logs go to stderr (the daemon's log; users never see them), so every
//! user-facing message travels in the Return error.

pub mod attest;
pub mod client;
pub mod dockerignore;
pub mod driver;
pub mod entitlements;
pub mod errors;
pub mod frontendcaps;
mod localsrc;
pub mod ocilayout;
pub mod options;
pub mod platforms;
pub mod remote;
pub mod subrequest;
pub mod transport;
pub mod warnings;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

pub use client::LlbBridge;
pub use driver::{run, serve, Outcome, Pipeline, ServerInfo, Slipway};
pub use errors::FrontendError;
pub use options::{FrontendOptions, OptionError};

/// Connect over `io`, run the build, Return, and come back — or come back
/// as soon as the peer closes the connection (whatever is in flight).
/// `install_hook`: a panic Returns an error through this runtime (it must
/// have another thread driving it, which tests' runtimes do not promise).
pub async fn run_frontend<IO, P>(
    io: IO,
    opts: Result<FrontendOptions, OptionError>,
    pipeline: Arc<P>,
    install_hook: bool,
) -> Outcome
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    P: Pipeline,
{
    let (channel, closed) = match transport::connect(io).await {
        Ok(c) => c,
        Err(e) => return Outcome::ReturnFailed(format!("cannot open the HTTP/2 connection: {e}")),
    };
    let hook = install_hook.then(tokio::runtime::Handle::current);
    run_connected(channel, closed, opts, pipeline, hook).await
}

/// [`run_frontend`] on an open connection. With `hook`, a panic Returns an
/// error through that runtime, the one that drives the connection.
async fn run_connected<P: Pipeline>(
    channel: transport::Channel,
    mut closed: transport::Closed,
    opts: Result<FrontendOptions, OptionError>,
    pipeline: Arc<P>,
    hook: Option<tokio::runtime::Handle>,
) -> Outcome {
    let bridge = LlbBridge::new(channel);
    if let Some(h) = hook {
        install_panic_hook(bridge.clone(), h);
    }
    tokio::select! {
        biased;
        _ = closed.wait() => {
            Outcome::ReturnFailed("BuildKit closed the connection".into())
        }
        o = driver::serve(&bridge, opts, pipeline) => o,
    }
}

/// On a panic (with `panic = "abort"` nothing can catch it), Return an
/// error from a helper thread, then exit 0: a Return error is what the user
/// sees; exiting without Return would only say "exit code: 134".
/// `handle` is the runtime that drives the connection: in the frontend, its
/// own thread, not the one running the driver, so a panic anywhere in the
/// driver leaves it running.
fn install_panic_hook(bridge: LlbBridge, handle: tokio::runtime::Handle) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        if bridge.has_returned() {
            return;
        }
        let status = FrontendError::new(
            errors::CODE_INTERNAL,
            errors::panic_message(&info.to_string()),
        )
        .into_status();
        let (tx, rx) = std::sync::mpsc::channel();
        let (b, h) = (bridge.clone(), handle.clone());
        let spawned = std::thread::Builder::new()
            .name("slipway-panic-return".into())
            .spawn(move || {
                let r = h.block_on(async {
                    tokio::time::timeout(Duration::from_secs(3), b.return_error(status)).await
                });
                let _ = tx.send(matches!(r, Ok(Ok(()))));
            });
        if spawned.is_ok() && rx.recv_timeout(Duration::from_secs(4)).unwrap_or(false) {
            std::process::exit(0);
        }
    }));
}

/// The frontend's threads: two one-thread runtimes (tokio's `rt`; the
/// multi-thread scheduler costs image size for nothing here), the connection
/// to BuildKit (`open`'s stream, HTTP/2) on a thread of its own and the
/// driver on the calling thread. Requests are I/O and run concurrently;
/// evaluation and compile go to spawn_blocking threads. A panic anywhere in
/// the driver leaves the connection's thread to Return it (the hook).
pub fn run_threaded<IO, P>(
    open: impl FnOnce() -> Result<IO, String> + Send + 'static,
    opts: Result<FrontendOptions, OptionError>,
    pipeline: Arc<P>,
) -> Outcome
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    P: Pipeline,
{
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let (rt, conn_rt) = match (runtime(), runtime()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return Outcome::ReturnFailed(format!("cannot start the async runtime: {e}"))
        }
    };
    let conn = conn_rt.handle().clone();
    let driving = std::thread::Builder::new()
        .name("slipway-conn".into())
        .spawn(move || conn_rt.block_on(std::future::pending::<()>()));
    if let Err(e) = driving {
        return Outcome::ReturnFailed(format!("cannot start the connection thread: {e}"));
    }
    let outcome = rt.block_on(async move {
        let opened = conn
            .spawn(async move {
                let io = open()?;
                transport::connect(io)
                    .await
                    .map_err(|e| format!("cannot open the HTTP/2 connection: {e}"))
            })
            .await;
        match opened {
            Ok(Ok((channel, closed))) => {
                run_connected(channel, closed, opts, pipeline, Some(conn)).await
            }
            Ok(Err(msg)) => Outcome::ReturnFailed(msg),
            Err(e) => Outcome::ReturnFailed(format!("cannot open the HTTP/2 connection: {e}")),
        }
    });
    // Do not wait for stragglers (blocking compile threads); the connection's
    // thread ends with the process.
    rt.shutdown_background();
    outcome
}

/// The `slipway frontend` entrypoint: env → options, stdio → HTTP/2, build,
/// Return, exit 0 (also after a Returned error, as BuildKit expects).
/// The user the frontend image names (`USER 65532:65532`, "nonroot").
const FRONTEND_UID: u32 = 65532;

/// BuildKit v0.8 (Docker 20.10) starts the frontend's container as root
/// whatever the image's `USER` says (v0.24 honours it). The frontend needs no
/// privilege at all, so it drops to the image's user before doing anything
/// else (no threads exist yet). A failure is reported and the frontend goes on.
fn drop_root() {
    // SAFETY: plain libc calls on integers and a null list, before any thread starts.
    unsafe {
        if libc::geteuid() != 0 {
            return;
        }
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(FRONTEND_UID) != 0
            || libc::setuid(FRONTEND_UID) != 0
        {
            eprintln!(
                "slipway frontend: running as root: cannot switch to uid {FRONTEND_UID}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

pub fn main_frontend() -> ExitCode {
    drop_root();
    let env = std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    });
    let opts = FrontendOptions::from_env(env);
    let outcome = run_threaded(
        || {
            transport::stdio_stream().map_err(|e| {
                format!(
                    "stdin/stdout are not usable as the BuildKit connection (run `slipway \
                     frontend` only as a BuildKit frontend): {e}"
                )
            })
        },
        opts,
        Arc::new(Slipway),
    );
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failed(msg) => {
            eprintln!("slipway frontend: returned error: {msg}");
            ExitCode::SUCCESS
        }
        Outcome::ReturnFailed(msg) => {
            eprintln!("slipway frontend: {msg}");
            ExitCode::from(1)
        }
    }
}
