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
    let (channel, mut closed) = match transport::connect(io).await {
        Ok(c) => c,
        Err(e) => return Outcome::ReturnFailed(format!("cannot open the HTTP/2 connection: {e}")),
    };
    let bridge = LlbBridge::new(channel);
    if install_hook {
        install_panic_hook(bridge.clone(), tokio::runtime::Handle::current());
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
/// The runtime has one thread: a panic on it (async driver code, not the
/// evaluation or the compile, which run on `spawn_blocking` threads) leaves no
/// thread to drive the connection, so the helper gives up after 4 s and the
/// process aborts as it would without the hook.
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
    // One runtime thread: every request to BuildKit is I/O and runs
    // concurrently on it; the CPU-bound steps run on spawn_blocking threads.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("slipway frontend: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let env = std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    });
    let opts = FrontendOptions::from_env(env);
    let outcome = rt.block_on(async move {
        let io = match transport::stdio_stream() {
            Ok(io) => io,
            Err(e) => {
                return Outcome::ReturnFailed(format!(
                    "stdin/stdout are not usable as the BuildKit connection (run `slipway \
                     frontend` only as a BuildKit frontend): {e}"
                ))
            }
        };
        run_frontend(io, opts, Arc::new(Slipway), true).await
    });
    // Do not wait for stragglers (blocking compile threads, the HTTP/2 task).
    rt.shutdown_background();
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
