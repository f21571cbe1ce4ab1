//! `moby.buildkit.v1.types`: the worker list Ping returns.

use std::collections::BTreeMap;

use crate::pb;

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct WorkerRecord {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(btree_map = "string, string", tag = "2")]
    pub labels: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "3")]
    pub platforms: Vec<pb::Platform>,
    #[prost(message, repeated, tag = "4")]
    pub gc_policy: Vec<GcPolicy>,
    #[prost(message, optional, tag = "5")]
    pub buildkit_version: Option<BuildkitVersion>,
}

/// Minimal: the gateway's Ping never fills it; kept so the field decodes.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GcPolicy {
    #[prost(bool, tag = "1")]
    pub all: bool,
    #[prost(int64, tag = "2")]
    pub keep_duration: i64,
    #[prost(int64, tag = "3")]
    pub keep_bytes: i64,
    #[prost(string, repeated, tag = "4")]
    pub filters: Vec<String>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct BuildkitVersion {
    #[prost(string, tag = "1")]
    pub package: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(string, tag = "3")]
    pub revision: String,
}
