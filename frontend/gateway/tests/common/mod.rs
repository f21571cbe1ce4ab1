//! A fake BuildKit: a tonic server implementing the LLBBridge paths by hand
//! over an in-memory duplex stream. Good enough for protocol tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use prost::Message;
use slipway_proto::apicaps::ApiCap;
use slipway_proto::gateway as gw;
use slipway_proto::{pb, rpc, types};
use tonic::body::Body;
use tonic::{Request, Response, Status};

pub type SolveHook = Arc<dyn Fn(usize, &gw::SolveRequest) -> Option<Status> + Send + Sync>;

#[derive(Default)]
pub struct State {
    pub calls: Vec<String>,
    pub solves: Vec<gw::SolveRequest>,
    pub reads: Vec<gw::ReadFileRequest>,
    pub resolves: Vec<gw::ResolveImageConfigRequest>,
    pub returns: Vec<gw::ReturnRequest>,
    pub warns: Vec<gw::WarnRequest>,
    /// Every call as it arrived: method, time, request bytes (the process
    /// benchmark times a frontend by these).
    pub log: Vec<(String, std::time::Instant, usize)>,
}

#[derive(Clone)]
pub struct Fake {
    pub pong: gw::PongResponse,
    /// path -> contents, whatever the ref.
    pub files: BTreeMap<String, Vec<u8>>,
    /// image ref -> (digest, config)
    pub images: BTreeMap<String, (String, Vec<u8>)>,
    pub solve_hook: Option<SolveHook>,
    pub inputs: BTreeMap<String, pb::Definition>,
    /// Never answer a Solve with evaluate=true.
    pub hang_evaluate: bool,
    /// Answer a Solve with its Definition in the result ref (as BuildKit
    /// does); the process benchmark turns it off so that the peer's decoding
    /// is not counted against the frontend.
    pub echo_def: bool,
    pub state: Arc<Mutex<State>>,
}

fn caps(ids: &[&str]) -> Vec<ApiCap> {
    ids.iter()
        .map(|id| ApiCap {
            id: id.to_string(),
            enabled: true,
            ..Default::default()
        })
        .collect()
}

pub const V08_FRONTEND_CAPS: &[&str] = &[
    "frontend.caps",
    "frontend.inputs",
    "gateway.exec",
    "gateway.solve.evaluate",
    "gateway.solve.metadata",
    "importcaches",
    "proto.refarray",
    "readdir",
    "readfile",
    "reference.output",
    "resolveimage",
    "resolveimage.resolvemode",
    "return",
    "returnmap",
    "solve.base",
    "solve.inlinereturn",
    "statfile",
];

pub const V08_LLB_CAPS: &[&str] = &[
    "constraints",
    "exec.cgroup",
    "exec.meta.base",
    "exec.meta.network",
    "exec.meta.proxyenv",
    "exec.meta.security",
    "exec.meta.security.devices.v1",
    "exec.meta.setsdefaultpath",
    "exec.mount.bind",
    "exec.mount.bind.readwrite-nooutput",
    "exec.mount.cache",
    "exec.mount.cache.sharing",
    "exec.mount.secret",
    "exec.mount.selector",
    "exec.mount.ssh",
    "exec.mount.tmpfs",
    "file.base",
    "file.rm.wildcard",
    "meta.description",
    "meta.exportcache",
    "meta.ignorecache",
    "platform",
    "soruce.http.uidgid",
    "source.buildop.llbfilename",
    "source.git",
    "source.git.fullurl",
    "source.git.httpauth",
    "source.git.keepgitdir",
    "source.git.knownsshhosts",
    "source.git.mountsshsock",
    "source.http",
    "source.http.checksum",
    "source.http.perm",
    "source.image",
    "source.image.resolvemode",
    "source.local",
    "source.local.excludepatterns",
    "source.local.followpaths",
    "source.local.includepatterns",
    "source.local.sessionid",
    "source.local.sharedkeyhint",
    "source.local.unique",
];

impl Fake {
    pub fn new() -> Self {
        Fake {
            pong: gw::PongResponse {
                frontend_api_caps: caps(V08_FRONTEND_CAPS),
                llb_caps: caps(V08_LLB_CAPS),
                workers: vec![types::WorkerRecord {
                    id: "w0".into(),
                    platforms: vec![pb::Platform {
                        os: "linux".into(),
                        architecture: "amd64".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
            files: BTreeMap::new(),
            images: BTreeMap::new(),
            solve_hook: None,
            inputs: BTreeMap::new(),
            hang_evaluate: false,
            echo_def: true,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    pub fn with_frontend_cap(mut self, id: &str) -> Self {
        self.pong.frontend_api_caps.push(ApiCap {
            id: id.into(),
            enabled: true,
            ..Default::default()
        });
        self
    }

    pub fn file(mut self, path: &str, data: &str) -> Self {
        self.files.insert(path.into(), data.as_bytes().to_vec());
        self
    }

    /// An image the registry has, under any spelling Docker reads as the
    /// same name (`alpine:3.20` is `docker.io/library/alpine:3.20`).
    pub fn image(mut self, r: &str, digest: &str, config: &str) -> Self {
        let full = slipway_llb::normalize_image_ref(r).expect("fake image reference");
        self.images
            .insert(full, (digest.into(), config.as_bytes().to_vec()));
        self
    }

    pub fn on_solve(
        mut self,
        f: impl Fn(usize, &gw::SolveRequest) -> Option<Status> + Send + Sync + 'static,
    ) -> Self {
        self.solve_hook = Some(Arc::new(f));
        self
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The one Return the frontend made (panics unless exactly one).
    pub fn returned(&self) -> gw::ReturnRequest {
        let st = self.state();
        assert_eq!(
            st.returns.len(),
            1,
            "expected exactly one Return, calls: {:?}",
            st.calls
        );
        st.returns[0].clone()
    }

    pub fn returned_error(&self) -> rpc::Status {
        let r = self.returned();
        assert!(r.result.is_none() || r.error.is_some());
        r.error.expect("expected an error Return")
    }

    fn handle(&self, name: &str, body: &[u8]) -> Result<Vec<u8>, Status> {
        let mut st = self.state.lock().unwrap();
        st.calls.push(name.to_string());
        st.log
            .push((name.to_string(), std::time::Instant::now(), body.len()));
        match name {
            "Ping" => Ok(self.pong.encode_to_vec()),
            "Solve" => {
                let req =
                    gw::SolveRequest::decode(body).map_err(|e| Status::internal(e.to_string()))?;
                let n = st.solves.len();
                st.solves.push(req.clone());
                drop(st);
                if let Some(h) = &self.solve_hook {
                    if let Some(s) = h(n, &req) {
                        return Err(s);
                    }
                }
                Ok(gw::SolveResponse {
                    r#ref: String::new(),
                    result: Some(gw::Result {
                        result: Some(gw::result::Result::Ref(gw::Ref {
                            id: format!("ref-{n}"),
                            def: req
                                .definition
                                .as_ref()
                                .filter(|_| self.echo_def)
                                .and_then(|d| d.decode().ok()),
                        })),
                        metadata: BTreeMap::new(),
                    }),
                }
                .encode_to_vec())
            }
            "ReadFile" => {
                let req = gw::ReadFileRequest::decode(body)
                    .map_err(|e| Status::internal(e.to_string()))?;
                st.reads.push(req.clone());
                if req.r#ref.is_empty() {
                    return Err(Status::invalid_argument("no ref"));
                }
                match self.files.get(&req.file_path) {
                    Some(d) => Ok(gw::ReadFileResponse { data: d.clone() }.encode_to_vec()),
                    None => Err(Status::unknown(format!(
                        "open /tmp/buildkit-mount/{}: no such file or directory",
                        req.file_path
                    ))),
                }
            }
            "ResolveImageConfig" => {
                let req = gw::ResolveImageConfigRequest::decode(body)
                    .map_err(|e| Status::internal(e.to_string()))?;
                st.resolves.push(req.clone());
                match self.images.get(&req.r#ref) {
                    Some((d, c)) => Ok(gw::ResolveImageConfigResponse {
                        digest: d.clone(),
                        config: c.clone(),
                        r#ref: String::new(),
                    }
                    .encode_to_vec()),
                    None => Err(Status::unknown(format!("{}: not found", req.r#ref))),
                }
            }
            "Warn" => {
                if !self
                    .pong
                    .frontend_api_caps
                    .iter()
                    .any(|c| c.id == "gateway.warnings")
                {
                    return Err(Status::unimplemented("unknown method Warn"));
                }
                let req =
                    gw::WarnRequest::decode(body).map_err(|e| Status::internal(e.to_string()))?;
                st.warns.push(req);
                Ok(gw::WarnResponse {}.encode_to_vec())
            }
            "Inputs" => Ok(gw::InputsResponse {
                definitions: self.inputs.clone(),
            }
            .encode_to_vec()),
            "Return" => {
                let req =
                    gw::ReturnRequest::decode(body).map_err(|e| Status::internal(e.to_string()))?;
                if !st.returns.is_empty() {
                    return Err(Status::unknown("gateway result is already set"));
                }
                if req.error.as_ref().is_some_and(|e| e.code == 0) {
                    return Err(Status::internal("Return with code 0"));
                }
                if let Some(e) = &req.error {
                    eprintln!("FAKE-RETURN code={} msg={}", e.code, e.message);
                }
                st.returns.push(req);
                Ok(gw::ReturnResponse {}.encode_to_vec())
            }
            other => Err(Status::unimplemented(format!("unknown method {other}"))),
        }
    }
}

/// Raw bytes in, raw bytes out: the fake decodes messages itself.
#[derive(Default, Clone)]
struct RawCodec;
struct RawEnc;
struct RawDec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEnc;
    type Decoder = RawDec;
    fn encoder(&mut self) -> RawEnc {
        RawEnc
    }
    fn decoder(&mut self) -> RawDec {
        RawDec
    }
}

impl tonic::codec::Encoder for RawEnc {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDec {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        use bytes::Buf;
        let mut v = vec![0; src.remaining()];
        src.copy_to_slice(&mut v);
        Ok(Some(v))
    }
}

struct Unary {
    fake: Fake,
    name: String,
}

impl tonic::server::UnaryService<Vec<u8>> for Unary {
    type Response = Vec<u8>;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Vec<u8>>, Status>> + Send>>;
    fn call(&mut self, req: Request<Vec<u8>>) -> Self::Future {
        let hang = self.fake.hang_evaluate
            && self.name == "Solve"
            && gw::SolveRequest::decode(req.get_ref().as_slice())
                .map(|r| r.evaluate)
                .unwrap_or(false);
        let r = self
            .fake
            .handle(&self.name, req.get_ref())
            .map(Response::new);
        Box::pin(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            r
        })
    }
}

impl tower::Service<http::Request<Body>> for Fake {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let fake = self.clone();
        Box::pin(async move {
            let path = req.uri().path().to_string();
            let name = path
                .strip_prefix("/moby.buildkit.v1.frontend.LLBBridge/")
                .unwrap_or("?")
                .to_string();
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            Ok(grpc.unary(Unary { fake, name }, req).await)
        })
    }
}

/// Start the fake on one end of a duplex pipe; returns the other end.
pub fn serve(fake: Fake) -> tokio::io::DuplexStream {
    let (a, b) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        use tokio_stream::StreamExt;
        let incoming =
            tokio_stream::once(Ok::<_, std::io::Error>(b)).chain(tokio_stream::pending());
        let _ = tonic::transport::Server::builder()
            .serve_with_incoming(fake, incoming)
            .await;
    });
    a
}

/// Like [`serve`], through a proxy task: aborting it closes the connection
/// as BuildKit going away would.
pub fn serve_killable(fake: Fake) -> (tokio::io::DuplexStream, tokio::task::AbortHandle) {
    let mut server_side = serve(fake);
    let (client, mut proxy_end) = tokio::io::duplex(1 << 20);
    let h = tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional(&mut proxy_end, &mut server_side).await;
    });
    (client, h.abort_handle())
}

/// Environment as BuildKit would give it.
pub fn env(opts: &[&str]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = opts
        .iter()
        .enumerate()
        .map(|(i, o)| (format!("BUILDKIT_FRONTEND_OPT_{i}"), o.to_string()))
        .collect();
    v.push(("BUILDKIT_SESSION_ID".into(), "sess-1".into()));
    v
}

/// Run the frontend with `pipeline` against `fake` (options `opts`, as
/// `BUILDKIT_FRONTEND_OPT_*` pairs) to its outcome; fails after 20 s.
pub async fn drive_with<P: slipway_gateway::driver::Pipeline>(
    fake: &Fake,
    opts: &[&str],
    pipeline: P,
) -> slipway_gateway::Outcome {
    let o = slipway_gateway::options::FrontendOptions::from_env(env(opts));
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        slipway_gateway::run_frontend(serve(fake.clone()), o, Arc::new(pipeline), false),
    )
    .await
    .expect("driver hung")
}

/// [`drive_with`] the real pipeline.
pub async fn drive(fake: &Fake, opts: &[&str]) -> slipway_gateway::Outcome {
    drive_with(fake, opts, slipway_gateway::driver::Slipway).await
}
