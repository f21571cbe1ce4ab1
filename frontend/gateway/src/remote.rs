//! The spec from a remote build context (`context=git://…` or an HTTP(S)
//! tarball, as the Dockerfile frontend reads them): solve the same state the
//! compiler uses as the main context, read the spec from it.

use slipway_proto::gateway as gw;

use crate::client::LlbBridge;
use crate::errors::{self, FrontendError};
use crate::options::FrontendOptions;

/// Whether `context=VALUE` names a remote context (else a local name).
pub fn is_remote(v: &str) -> bool {
    [
        "git://",
        "git@",
        "ssh://",
        "http://",
        "https://",
        "github.com/",
    ]
    .iter()
    .any(|p| v.starts_with(p))
}

/// The spec's bytes, no excludes (`.dockerignore` applies to local contexts),
/// and the digest of the vertex that loaded it.
pub async fn load_files(
    bridge: &LlbBridge,
    opts: &FrontendOptions,
    url: &str,
) -> Result<(Vec<u8>, Vec<String>, String), FrontendError> {
    let mut g = slipway_llb::Graph::new();
    let st = slipway_compiler::remote::remote_context(&mut g, url);
    let def = g.marshal(st, None, None).map_err(|e| {
        FrontendError::new(errors::CODE_INTERNAL, format!("remote context {url}: {e}"))
    })?;
    let vertex = def
        .decode()
        .ok()
        .and_then(|d| d.def.first().map(|b| slipway_llb::digest(b)))
        .unwrap_or_default();
    let resp = bridge
        .solve(gw::SolveRequest {
            definition: Some(def),
            allow_result_return: true,
            allow_result_array_ref: true,
            ..Default::default()
        })
        .await
        .map_err(|s| {
            FrontendError::from_status(&format!("fetching the build context {url} failed"), &s)
        })?;
    let r = resp
        .result
        .as_ref()
        .and_then(|r| r.single_ref_id())
        .map(String::from)
        .unwrap_or_else(|| resp.r#ref.clone());
    let filename = &opts.filename;
    let data = bridge
        .read_file(gw::ReadFileRequest {
            r#ref: r,
            file_path: filename.clone(),
            range: None,
        })
        .await
        .map_err(|s| {
            let mut e = FrontendError::from_status(
                &format!("cannot read the build spec {filename} from {url}"),
                &s,
            );
            e.message.push_str(
                "\nhint: the spec is read from the remote context itself: name its path inside \
                 the repository or archive with `-f PATH` (or `--opt filename=PATH`)",
            );
            e
        })?
        .data;
    Ok((data, Vec::new(), vertex))
}

#[cfg(test)]
mod tests {
    #[test]
    fn remote_or_local() {
        assert!(super::is_remote("git://127.0.0.1/app.git#main"));
        assert!(super::is_remote("http://127.0.0.1:8000/ctx.tar.gz"));
        assert!(!super::is_remote("context"));
        assert!(!super::is_remote("."));
    }
}
