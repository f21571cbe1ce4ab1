//! Hand-written prost messages for the parts of BuildKit's protocols Slipway
//! speaks. Written from the wire facts (field numbers and types), not copied
//! from any .proto file. Pure data: no I/O, no tonic.
//!
//! - [`pb`]: LLB (`solver/pb/ops.proto`, proto package `pb`).
//! - [`gateway`]: the LLBBridge service messages (`moby.buildkit.v1.frontend`).
//! - [`rpc`]: `google.rpc.Status` and `google.protobuf.Any`.
//! - [`apicaps`], [`types`], [`fsutil`]: APICap, WorkerRecord, fsutil Stat.

pub mod apicaps;
pub mod fsutil;
pub mod gateway;
pub mod pb;
pub mod rpc;
pub mod types;
