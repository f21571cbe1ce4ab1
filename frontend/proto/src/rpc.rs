//! `google.rpc.Status` and `google.protobuf.Any`: the error a frontend gives
//! BuildKit in `ReturnRequest.error`, and the typed details inside it
//! (BuildKit encodes its own detail types as JSON, type URL
//! `github.com/moby/buildkit/<name>+json`).

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.Status`. `code` must never be 0 (OK) in a Return error:
/// BuildKit would treat it as "no error" and leave the build without result.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}
