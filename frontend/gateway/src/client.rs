//! `LlbBridge`: a typed client for BuildKit's LLBBridge service, calling each
//! RPC by path through `tonic::client::Grpc::unary` (no generated code).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use prost::Message;
use slipway_proto::gateway as gw;
use slipway_proto::rpc;

use crate::transport::{
    Channel, MAX_REQUEST_BYTES, MAX_REQUEST_BYTES_V014, MAX_RESPONSE_BYTES, V014_LLB_CAP,
};

/// A client for the one connection to BuildKit. Cheap to clone; clones share
/// the connection (HTTP/2 multiplexes concurrent calls).
#[derive(Clone, Debug)]
pub struct LlbBridge {
    channel: Channel,
    returned: Arc<AtomicBool>,
    /// The largest request the server accepts: 4 MiB until a Ping shows a
    /// BuildKit v0.14+ (16 MiB), so that a 1,000-stage build (a ~6 MB
    /// Definition) is not refused on a current daemon.
    max_request: Arc<AtomicUsize>,
}

macro_rules! path {
    ($name:literal) => {
        concat!("/moby.buildkit.v1.frontend.LLBBridge/", $name)
    };
}

impl LlbBridge {
    pub fn new(channel: Channel) -> Self {
        LlbBridge {
            channel,
            returned: Arc::new(AtomicBool::new(false)),
            max_request: Arc::new(AtomicUsize::new(MAX_REQUEST_BYTES)),
        }
    }

    /// True once a Return call succeeded (on this bridge or a clone).
    pub fn has_returned(&self) -> bool {
        self.returned.load(Ordering::SeqCst)
    }

    async fn call<Req, Resp>(&self, path: &'static str, req: Req) -> Result<Resp, tonic::Status>
    where
        Req: Message + Send + Sync + 'static,
        Resp: Message + Default + Send + Sync + 'static,
    {
        let len = req.encoded_len();
        let max = self.max_request.load(Ordering::Relaxed);
        if len >= max {
            let which = if max == MAX_REQUEST_BYTES {
                "BuildKit before v0.14 (Docker 26 and older) accepts at most 4 MiB"
            } else {
                "BuildKit accepts at most 16 MiB"
            };
            return Err(tonic::Status::resource_exhausted(format!(
                "the request to BuildKit ({path}) would be {len} bytes, but {which} ({max} bytes); \
                 make the build smaller (e.g. fewer or smaller inline `file:` contents, or split \
                 it into several specs)"
            )));
        }
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
            .max_encoding_message_size(max);
        grpc.ready().await.map_err(|e| {
            tonic::Status::unavailable(format!("the connection to BuildKit is not usable: {e}"))
        })?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let path = http::uri::PathAndQuery::from_static(path);
        let resp = grpc.unary(tonic::Request::new(req), path, codec).await?;
        Ok(resp.into_inner())
    }

    /// Ping; a v0.14+ server (by its LLB caps) raises the request limit to
    /// 16 MiB for every later call on this connection.
    pub async fn ping(&self) -> Result<gw::PongResponse, tonic::Status> {
        let pong: gw::PongResponse = self.call(path!("Ping"), gw::PingRequest {}).await?;
        if pong
            .llb_caps
            .iter()
            .any(|c| c.id == V014_LLB_CAP && c.enabled)
        {
            self.max_request
                .store(MAX_REQUEST_BYTES_V014, Ordering::Relaxed);
        }
        Ok(pong)
    }

    pub async fn solve(&self, req: gw::SolveRequest) -> Result<gw::SolveResponse, tonic::Status> {
        self.call(path!("Solve"), req).await
    }

    pub async fn read_file(
        &self,
        req: gw::ReadFileRequest,
    ) -> Result<gw::ReadFileResponse, tonic::Status> {
        self.call(path!("ReadFile"), req).await
    }

    pub async fn read_dir(
        &self,
        req: gw::ReadDirRequest,
    ) -> Result<gw::ReadDirResponse, tonic::Status> {
        self.call(path!("ReadDir"), req).await
    }

    pub async fn stat_file(
        &self,
        req: gw::StatFileRequest,
    ) -> Result<gw::StatFileResponse, tonic::Status> {
        self.call(path!("StatFile"), req).await
    }

    pub async fn resolve_image_config(
        &self,
        req: gw::ResolveImageConfigRequest,
    ) -> Result<gw::ResolveImageConfigResponse, tonic::Status> {
        self.call(path!("ResolveImageConfig"), req).await
    }

    pub async fn inputs(&self) -> Result<gw::InputsResponse, tonic::Status> {
        self.call(path!("Inputs"), gw::InputsRequest {}).await
    }

    pub async fn evaluate(&self, r#ref: String) -> Result<gw::EvaluateResponse, tonic::Status> {
        self.call(path!("Evaluate"), gw::EvaluateRequest { r#ref })
            .await
    }

    /// Only call when the `gateway.warnings` cap is present (v0.10+).
    pub async fn warn(&self, req: gw::WarnRequest) -> Result<gw::WarnResponse, tonic::Status> {
        self.call(path!("Warn"), req).await
    }

    /// Return a successful result. Call at most once per process.
    pub async fn return_result(&self, result: gw::Result) -> Result<(), tonic::Status> {
        let _: gw::ReturnResponse = self
            .call(
                path!("Return"),
                gw::ReturnRequest {
                    result: Some(result),
                    error: None,
                },
            )
            .await?;
        self.returned.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Return an error. A code of 0 (OK) is replaced by 2 (Unknown): BuildKit
    /// would otherwise treat it as "no error" and lose the build.
    pub async fn return_error(&self, mut status: rpc::Status) -> Result<(), tonic::Status> {
        if status.code == 0 {
            status.code = tonic::Code::Unknown as i32;
        }
        let _: gw::ReturnResponse = self
            .call(
                path!("Return"),
                gw::ReturnRequest {
                    result: None,
                    error: Some(status),
                },
            )
            .await?;
        self.returned.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// A gRPC error from BuildKit as a `google.rpc.Status`, with the typed
/// details it carried (`grpc-status-details-bin`), so they can be forwarded.
pub fn status_to_rpc(s: &tonic::Status) -> rpc::Status {
    let mut out = if s.details().is_empty() {
        rpc::Status::default()
    } else {
        rpc::Status::decode(s.details()).unwrap_or_default()
    };
    out.code = match s.code() as i32 {
        0 => tonic::Code::Unknown as i32,
        c => c,
    };
    out.message = s.message().to_string();
    out
}
