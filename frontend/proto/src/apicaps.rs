//! `moby.buildkit.v1.apicaps.APICap`: one capability as reported by Ping.

#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct ApiCap {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(bool, tag = "2")]
    pub enabled: bool,
    #[prost(bool, tag = "3")]
    pub deprecated: bool,
    #[prost(string, tag = "4")]
    pub disabled_reason: String,
    #[prost(string, tag = "5")]
    pub disabled_reason_msg: String,
    #[prost(string, tag = "6")]
    pub disabled_alternative: String,
}

/// The Go spelling, for readers who grep for it.
pub type APICap = ApiCap;
