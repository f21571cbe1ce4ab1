//! `fsutil.types.Stat`: a directory entry from ReadDir / StatFile.
//! `mode` uses Go's `os.FileMode` bit layout (directory = 1<<31), not POSIX.

use std::collections::BTreeMap;

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Stat {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(uint32, tag = "2")]
    pub mode: u32,
    #[prost(uint32, tag = "3")]
    pub uid: u32,
    #[prost(uint32, tag = "4")]
    pub gid: u32,
    #[prost(int64, tag = "5")]
    pub size: i64,
    /// Unix nanoseconds.
    #[prost(int64, tag = "6")]
    pub mod_time: i64,
    #[prost(string, tag = "7")]
    pub linkname: String,
    #[prost(int64, tag = "8")]
    pub devmajor: i64,
    #[prost(int64, tag = "9")]
    pub devminor: i64,
    #[prost(btree_map = "string, bytes", tag = "10")]
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

/// Go `os.ModeDir`.
pub const MODE_DIR: u32 = 1 << 31;
/// Go `os.ModeSymlink`.
pub const MODE_SYMLINK: u32 = 1 << 27;
