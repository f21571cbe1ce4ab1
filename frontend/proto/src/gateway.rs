//! LLBBridge service messages (proto package `moby.buildkit.v1.frontend`),
//! written from the field numbers in `gateway-protocol.md` §3.3. Only what a
//! frontend sends or reads; container/exec messages are left out.
//! Every RPC path is `/moby.buildkit.v1.frontend.LLBBridge/<Name>`.

use std::collections::BTreeMap;

use crate::apicaps::ApiCap;
use crate::fsutil::Stat;
use crate::pb;
use crate::rpc;
use crate::types::WorkerRecord;

/// gRPC service name.
pub const SERVICE: &str = "moby.buildkit.v1.frontend.LLBBridge";

// --- Ping -------------------------------------------------------------------

#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct PingRequest {}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PongResponse {
    #[prost(message, repeated, tag = "1")]
    pub frontend_api_caps: Vec<ApiCap>,
    #[prost(message, repeated, tag = "2")]
    pub llb_caps: Vec<ApiCap>,
    #[prost(message, repeated, tag = "3")]
    pub workers: Vec<WorkerRecord>,
}

// --- Solve ------------------------------------------------------------------

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct CacheOptionsEntry {
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(btree_map = "string, string", tag = "2")]
    pub attrs: BTreeMap<String, String>,
}

/// Tag 4 (ImportCacheRefsDeprecated) and 10/11 (legacy inline return) are
/// deliberately absent: never send them.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SolveRequest {
    /// Sent in wire form (see `pb::EncodedDefinition`).
    #[prost(message, optional, tag = "1")]
    pub definition: Option<pb::EncodedDefinition>,
    #[prost(string, tag = "2")]
    pub frontend: String,
    #[prost(btree_map = "string, string", tag = "3")]
    pub frontend_opt: BTreeMap<String, String>,
    #[prost(bool, tag = "5")]
    pub allow_result_return: bool,
    #[prost(bool, tag = "6")]
    pub allow_result_array_ref: bool,
    #[prost(message, repeated, tag = "12")]
    pub cache_imports: Vec<CacheOptionsEntry>,
    #[prost(btree_map = "string, message", tag = "13")]
    pub frontend_inputs: BTreeMap<String, pb::Definition>,
    /// Cap `gateway.solve.evaluate`: build now, return build errors here.
    #[prost(bool, tag = "14")]
    pub evaluate: bool,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SolveResponse {
    /// Legacy: only when allow_result_return is false.
    #[prost(string, tag = "1")]
    pub r#ref: String,
    #[prost(message, optional, tag = "3")]
    pub result: Option<Result>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Result {
    #[prost(oneof = "result::Result", tags = "1, 2, 3, 4")]
    pub result: Option<result::Result>,
    #[prost(btree_map = "string, bytes", tag = "10")]
    pub metadata: BTreeMap<String, Vec<u8>>,
}

pub mod result {
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Result {
        #[prost(string, tag = "1")]
        RefDeprecated(String),
        #[prost(message, tag = "2")]
        RefsDeprecated(super::RefMapDeprecated),
        #[prost(message, tag = "3")]
        Ref(super::Ref),
        #[prost(message, tag = "4")]
        Refs(super::RefMap),
    }
}

impl Result {
    /// The single ref id of a result, whichever shape the server used.
    pub fn single_ref_id(&self) -> Option<&str> {
        match &self.result {
            Some(result::Result::Ref(r)) => Some(&r.id),
            Some(result::Result::RefDeprecated(id)) => Some(id),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Ref {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(message, optional, tag = "2")]
    pub def: Option<pb::Definition>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct RefMap {
    #[prost(btree_map = "string, message", tag = "1")]
    pub refs: BTreeMap<String, Ref>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct RefMapDeprecated {
    #[prost(btree_map = "string, string", tag = "1")]
    pub refs: BTreeMap<String, String>,
}

// --- Files ------------------------------------------------------------------

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileRange {
    #[prost(int64, tag = "1")]
    pub offset: i64,
    #[prost(int64, tag = "2")]
    pub length: i64,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ReadFileRequest {
    #[prost(string, tag = "1")]
    pub r#ref: String,
    #[prost(string, tag = "2")]
    pub file_path: String,
    /// None: the whole file.
    #[prost(message, optional, tag = "3")]
    pub range: Option<FileRange>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ReadFileResponse {
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ReadDirRequest {
    #[prost(string, tag = "1")]
    pub r#ref: String,
    #[prost(string, tag = "2")]
    pub dir_path: String,
    #[prost(string, tag = "3")]
    pub include_pattern: String,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ReadDirResponse {
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<Stat>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct StatFileRequest {
    #[prost(string, tag = "1")]
    pub r#ref: String,
    #[prost(string, tag = "2")]
    pub path: String,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct StatFileResponse {
    #[prost(message, optional, tag = "1")]
    pub stat: Option<Stat>,
}

// --- Images -----------------------------------------------------------------

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ResolveImageConfigRequest {
    #[prost(string, tag = "1")]
    pub r#ref: String,
    #[prost(message, optional, tag = "2")]
    pub platform: Option<pb::Platform>,
    /// `default` | `pull` | `local`.
    #[prost(string, tag = "3")]
    pub resolve_mode: String,
    #[prost(string, tag = "4")]
    pub log_name: String,
    /// v0.11: 0 registry, 1 OCI layout.
    #[prost(int32, tag = "5")]
    pub resolver_type: i32,
    #[prost(string, tag = "6")]
    pub session_id: String,
    #[prost(string, tag = "7")]
    pub store_id: String,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ResolveImageConfigResponse {
    /// Empty on Docker 20.10 for local-only images.
    #[prost(string, tag = "1")]
    pub digest: String,
    #[prost(bytes = "vec", tag = "2")]
    pub config: Vec<u8>,
    /// v0.12+: reference after source-policy rewrite; empty before.
    #[prost(string, tag = "3")]
    pub r#ref: String,
}

// --- Return / Inputs / Evaluate / Warn ---------------------------------------

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ReturnRequest {
    #[prost(message, optional, tag = "1")]
    pub result: Option<Result>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<rpc::Status>,
}

#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct ReturnResponse {}

#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct InputsRequest {}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct InputsResponse {
    #[prost(btree_map = "string, message", tag = "1")]
    pub definitions: BTreeMap<String, pb::Definition>,
}

#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct EvaluateRequest {
    #[prost(string, tag = "1")]
    pub r#ref: String,
}

#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct EvaluateResponse {}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct WarnRequest {
    #[prost(string, tag = "1")]
    pub digest: String,
    #[prost(int64, tag = "2")]
    pub level: i64,
    #[prost(bytes = "vec", tag = "3")]
    pub short: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub detail: Vec<Vec<u8>>,
    #[prost(string, tag = "5")]
    pub url: String,
    #[prost(message, optional, tag = "6")]
    pub info: Option<pb::SourceInfo>,
    #[prost(message, repeated, tag = "7")]
    pub ranges: Vec<pb::Range>,
}

#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct WarnResponse {}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn result_ref_is_field_3_and_metadata_field_10() {
        let r = Result {
            result: Some(result::Result::Ref(Ref {
                id: "x".into(),
                def: None,
            })),
            metadata: [("k".to_string(), b"v".to_vec())].into_iter().collect(),
        };
        let b = r.encode_to_vec();
        // 0x1a = field 3 LEN; ref {0x0a 01 'x'}; 0x52 = field 10 LEN (map entry)
        assert_eq!(&b[..5], &[0x1a, 0x03, 0x0a, 0x01, b'x']);
        assert_eq!(b[5], 0x52);
        assert_eq!(Result::decode(b.as_slice()).unwrap(), r);
    }

    #[test]
    fn solve_request_evaluate_is_field_14() {
        let r = SolveRequest {
            evaluate: true,
            ..Default::default()
        };
        assert_eq!(r.encode_to_vec(), vec![0x70, 0x01]);
    }
}
