//! Whole-process benchmark of a gateway frontend binary: Slipway's
//! `slipway-frontend` and BuildKit's upstream `dockerfile-frontend`, each
//! started as BuildKit starts it (the LLBBridge gRPC server on its
//! stdin/stdout, options in `BUILDKIT_FRONTEND_OPT_<n>`) and driven by the
//! same fake peer (tests/common: Ping, Solve, ReadFile, ResolveImageConfig,
//! Return). The spec is `slipway_compiler::generated_spec(N)`; the Dockerfile
//! is its twin (same stages, steps, cache mounts, cross-stage copies).
//!
//! Per run: process start → the build's Solve received (the largest Solve
//! request), → Return received, → process exit. Runs alternate between the
//! two frontends; medians are printed as a markdown table.
//!
//! ```sh
//! make binary     # target/x86_64-unknown-linux-gnu/release/slipway-frontend
//! cargo run --release -p slipway-gateway --example bench_process -- \
//!     --slipway target/x86_64-unknown-linux-gnu/release/slipway-frontend \
//!     --dockerfile /usr/local/lib/slipway/bin/dockerfile-frontend --stages 1000 --runs 15
//! ```
//! `--slipway` may be given twice (A/B of two builds of Slipway); `--dump DIR`
//! writes the last Definition each frontend solved.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout, Command};

/// The child's stdout (requests from it) and stdin (answers to it) as one
/// stream for the gRPC server.
struct ChildIo {
    r: ChildStdout,
    w: ChildStdin,
}

impl AsyncRead for ChildIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.r).poll_read(cx, buf)
    }
}

impl AsyncWrite for ChildIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.w).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.w).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.w).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for ChildIo {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

const BASE_DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const BASE_CONFIG: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"]},"rootfs":{"type":"layers","diff_ids":["sha256:2222222222222222222222222222222222222222222222222222222222222222"]},"history":[]}"#;

/// The Dockerfile twin of `slipway_compiler::generated_spec(n)`.
fn generated_dockerfile(stages: usize) -> String {
    let mut s = String::from("ARG BASE=debian:bookworm-slim\n");
    for i in 0..stages {
        s.push_str(&format!(
            "FROM ${{BASE}} AS s{i}\nWORKDIR /work/s{i}\nENV STAGE=\"{i}\"\n"
        ));
        s.push_str(&format!(
            "COPY src/a{}.txt src/b{}.txt ./in/\n",
            i % 50,
            i % 7
        ));
        s.push_str("RUN --mount=type=cache,target=/root/.cache/deps --mount=type=cache,target=/var/cache/apt make deps\n");
        s.push_str(&format!("COPY src/c{}/ ./c/\n", i % 13));
        s.push_str(&format!("RUN --mount=type=cache,target=/root/.cache/build,id=build-{},sharing=locked make build STAGE=$STAGE\n", i % 4));
        if i > 0 {
            s.push_str(&format!(
                "COPY --from=s{p} /work/s{p}/out ./prev/\n",
                p = i - 1
            ));
            s.push_str(&format!(
                "COPY --from=s{h} /work/s{h}/out/lib.a ./lib/\n",
                h = i / 2
            ));
        } else {
            s.push_str("RUN mkdir -p prev lib\n");
        }
        s.push_str("RUN --mount=type=cache,target=/root/.cache/test [\"make\", \"test\"]\n");
        s.push_str("COPY --chmod=0644 docs/readme.md ./README.md\n");
        s.push_str("RUN V=1 make install DESTDIR=out\n");
        s.push_str("RUN rm -rf /tmp/build\n");
    }
    s
}

#[derive(Clone, Copy)]
enum Kind {
    Slipway,
    Dockerfile,
}

struct Frontend {
    label: String,
    bin: String,
    kind: Kind,
}

/// One run's figures, from process start.
struct Run {
    solve: Duration,
    ret: Duration,
    exit: Duration,
    /// User + system CPU time of the process (and its threads): what the
    /// load of other tenants on this VM disturbs least.
    cpu: Duration,
    ops: usize,
    def: Vec<u8>,
    /// The frontend's own timeline, if it prints one (Slipway's
    /// `slipway: timings` line on stderr).
    timeline: Option<String>,
}

fn fake(kind: Kind, spec: &str, dockerfile: &str) -> common::Fake {
    let mut f = common::Fake::new().file(".dockerignore", "").image(
        "debian:bookworm-slim",
        BASE_DIGEST,
        BASE_CONFIG,
    );
    f = match kind {
        Kind::Slipway => f.file("slipway.yaml", spec),
        Kind::Dockerfile => f.file("Dockerfile", dockerfile),
    };
    // A v0.14+ server (16 MiB requests: the 1,000-stage Definition is ~6 MB).
    f.pong.llb_caps.push(slipway_proto::apicaps::ApiCap {
        id: "file.copy.alwaysreplaceexistingdestpaths".into(),
        enabled: true,
        ..Default::default()
    });
    f.echo_def = false;
    f
}

async fn run_once(fe: &Frontend, spec: &str, dockerfile: &str) -> Result<Run, String> {
    let fake = fake(fe.kind, spec, dockerfile);
    let filename = match fe.kind {
        Kind::Slipway => "slipway.yaml",
        Kind::Dockerfile => "Dockerfile",
    };
    let mut cmd = Command::new(&fe.bin);
    if let Kind::Slipway = fe.kind {
        cmd.arg("frontend");
    }
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("BUILDKIT_SESSION_ID", "bench-session")
        .env("BUILDKIT_FRONTEND_OPT_0", format!("filename={filename}"))
        .env("BUILDKIT_FRONTEND_OPT_1", "build-arg:SOURCE_DATE_EPOCH=0")
        .env(
            "BUILDKIT_WORKERS",
            r#"[{"id":"w0","platforms":[{"os":"linux","architecture":"amd64"}]}]"#,
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let cpu0 = children_cpu();
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", fe.bin))?;
    let io = ChildIo {
        r: child.stdout.take().unwrap(),
        w: child.stdin.take().unwrap(),
    };
    let mut stderr = child.stderr.take().unwrap();
    let errlog = tokio::spawn(async move {
        let mut v = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stderr, &mut v).await;
        v
    });
    let server = {
        let fake = fake.clone();
        tokio::spawn(async move {
            use tokio_stream::StreamExt;
            let incoming =
                tokio_stream::once(Ok::<_, io::Error>(io)).chain(tokio_stream::pending());
            // BuildKit serves a frontend's connection with Go's x/net/http2
            // Server at its defaults (frontend/gateway/gateway.go `serve`):
            // 1 MiB receive windows per connection and per stream, where h2's
            // default is 64 KiB (a 6 MB Definition would wait for ~100 window
            // updates instead of ~6, for either frontend).
            let _ = tonic::transport::Server::builder()
                .initial_connection_window_size(1 << 20)
                .initial_stream_window_size(1 << 20)
                .serve_with_incoming(fake, incoming)
                .await;
        })
    };
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .map_err(|_| format!("{}: no exit within 120 s", fe.label))?
        .map_err(|e| e.to_string())?;
    let exit = t0.elapsed();
    let cpu = children_cpu().saturating_sub(cpu0);
    server.abort();
    let err = String::from_utf8_lossy(&errlog.await.unwrap_or_default()).into_owned();
    let st = fake.state();
    let fail = |why: &str| {
        format!(
            "{}: {why} (exit {status}); calls {:?}\nstderr:\n{err}",
            fe.label, st.calls
        )
    };
    if st.returns.len() != 1 {
        return Err(fail("no Return"));
    }
    if let Some(e) = &st.returns[0].error {
        return Err(fail(&format!("returned error {}: {}", e.code, e.message)));
    }
    let ret = st
        .log
        .iter()
        .find(|(n, _, _)| n == "Return")
        .map(|(_, t, _)| *t - t0)
        .unwrap();
    let (solve_at, _) = st
        .log
        .iter()
        .filter(|(n, _, _)| n == "Solve")
        .map(|(_, t, len)| (*t - t0, *len))
        .max_by_key(|(_, len)| *len)
        .ok_or_else(|| fail("no Solve"))?;
    let big = st
        .solves
        .iter()
        .max_by_key(|s| s.definition.as_ref().map_or(0, |d| d.0.len()))
        .and_then(|s| s.definition.clone())
        .ok_or_else(|| fail("no Definition"))?;
    let ops = big.decode().map_err(|e| fail(&e.to_string()))?.def.len();
    Ok(Run {
        solve: solve_at,
        ret,
        exit,
        cpu,
        ops,
        def: big.into_bytes(),
        timeline: err
            .lines()
            .find(|l| l.contains("timings"))
            .map(str::to_owned),
    })
}

/// CPU time of all waited-for children so far (this harness reaps one
/// frontend at a time, so the difference around a run is that run's).
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), String> {
    let mut fes = Vec::new();
    let (mut stages, mut runs, mut dump) = (1000usize, 11usize, None::<String>);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--slipway" => {
                let bin = val()?;
                let n = fes
                    .iter()
                    .filter(|f: &&Frontend| matches!(f.kind, Kind::Slipway))
                    .count();
                fes.push(Frontend {
                    label: if n == 0 {
                        "slipway".into()
                    } else {
                        format!("slipway#{}", n + 1)
                    },
                    bin,
                    kind: Kind::Slipway,
                })
            }
            "--dockerfile" => fes.push(Frontend {
                label: "dockerfile-frontend".into(),
                bin: val()?,
                kind: Kind::Dockerfile,
            }),
            "--stages" => stages = val()?.parse().map_err(|e| format!("--stages: {e}"))?,
            "--runs" => runs = val()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--dump" => dump = Some(val()?),
            other => {
                return Err(format!(
                    "unknown argument {other} (see the file's doc comment)"
                ))
            }
        }
    }
    if fes.is_empty() {
        return Err("give --slipway BIN and/or --dockerfile BIN".into());
    }
    let spec = slipway_compiler::generated_spec(stages);
    let dockerfile = generated_dockerfile(stages);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut results: Vec<Vec<Run>> = fes.iter().map(|_| Vec::new()).collect();
    rt.block_on(async {
        // One untimed run each (page cache, and a check that both work).
        for fe in &fes {
            run_once(fe, &spec, &dockerfile).await?;
        }
        for r in 0..runs {
            // Alternate the order: A B, B A, ...
            let order: Vec<usize> = if r % 2 == 0 {
                (0..fes.len()).collect()
            } else {
                (0..fes.len()).rev().collect()
            };
            for i in order {
                results[i].push(run_once(&fes[i], &spec, &dockerfile).await?);
            }
            eprintln!("bench_process: round {}/{runs}", r + 1);
        }
        Ok::<(), String>(())
    })?;
    println!(
        "| {stages} stages, median of {runs} (min) | ops in Definition | start → Solve (ms) | start → Return (ms) | start → exit (ms) | CPU user+sys (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let (mut solves, mut cpus) = (Vec::new(), Vec::new());
    for (fe, rs) in fes.iter().zip(&results) {
        let col = |f: &dyn Fn(&Run) -> Duration| {
            let mut v: Vec<f64> = rs.iter().map(|r| ms(f(r))).collect();
            let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
            (median(&mut v), min)
        };
        let (s, smin) = col(&|r| r.solve);
        let (t, tmin) = col(&|r| r.ret);
        let (e, emin) = col(&|r| r.exit);
        let (c, cmin) = col(&|r| r.cpu);
        solves.push(s);
        cpus.push(c);
        println!(
            "| {} | {} | {s:.1} ({smin:.1}) | {t:.1} ({tmin:.1}) | {e:.1} ({emin:.1}) | {c:.1} ({cmin:.1}) |",
            fe.label, rs[0].ops
        );
        if let Some(t) = &rs[rs.len() - 1].timeline {
            eprintln!("{} (last run): {t}", fe.label);
        }
        if let Some(dir) = &dump {
            let p = format!("{dir}/{}.def", fe.label);
            std::fs::write(&p, &rs[rs.len() - 1].def).map_err(|e| format!("{p}: {e}"))?;
        }
    }
    if let (Some(s), Some(d)) = (
        fes.iter().position(|f| matches!(f.kind, Kind::Slipway)),
        fes.iter().position(|f| matches!(f.kind, Kind::Dockerfile)),
    ) {
        println!();
        println!(
            "dockerfile-frontend / slipway: start → Solve {:.1}×, CPU {:.1}×",
            solves[d] / solves[s],
            cpus[d] / cpus[s]
        );
    }
    Ok(())
}
