//! The frontend caps a client may ask for (`frontend.caps` option, e.g. buildx
//! sends `moby.buildkit.frontend.subrequests+forward` with `--call`): what
//! Slipway implements, the same list as the image's
//! `moby.buildkit.frontend.caps` label (Dockerfile `ARG FRONTEND_CAPS`).
//! A request for anything else fails as BuildKit's own frontends fail it
//! (`errdefs.FrontendCap`, code Unimplemented); `+forward` does not help, as
//! Slipway never forwards to another frontend.

use serde_json::json;
use slipway_proto::rpc;

use crate::errors::{FrontendError, CODE_UNIMPLEMENTED};

/// What Slipway implements: named contexts, frontend inputs (as `input:`
/// named contexts) and subrequests.
pub const SUPPORTED: &[&str] = &[
    "moby.buildkit.frontend.contexts",
    "moby.buildkit.frontend.inputs",
    "moby.buildkit.frontend.subrequests",
];

pub const FRONTEND_CAP_JSON: &str = "github.com/moby/buildkit/errdefs.FrontendCap+json";

/// Check the `frontend.caps` option (comma-separated, each `name[+flag]`).
pub fn check(requested: Option<&str>) -> Result<(), FrontendError> {
    for c in requested.unwrap_or("").split(',').map(str::trim) {
        let name = c.split('+').next().unwrap_or("");
        if name.is_empty() || SUPPORTED.contains(&name) {
            continue;
        }
        let mut e = FrontendError::new(
            CODE_UNIMPLEMENTED,
            format!(
                "unsupported frontend capability {name}: Slipway implements {}",
                SUPPORTED.join(", ")
            ),
        );
        e.details.push(rpc::Any {
            type_url: FRONTEND_CAP_JSON.into(),
            value: json!({ "name": name }).to_string().into_bytes(),
        });
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_is_implemented_only() {
        assert!(check(None).is_ok());
        assert!(check(Some("")).is_ok());
        assert!(check(Some("moby.buildkit.frontend.subrequests+forward")).is_ok());
        assert!(check(Some(
            "moby.buildkit.frontend.contexts+forward,moby.buildkit.frontend.subrequests"
        ))
        .is_ok());
        let e = check(Some(
            "moby.buildkit.frontend.subrequests,moby.buildkit.frontend.gitquerystring+forward",
        ))
        .unwrap_err();
        assert_eq!(e.code, CODE_UNIMPLEMENTED);
        assert!(e
            .message
            .starts_with("unsupported frontend capability moby.buildkit.frontend.gitquerystring:"));
        assert!(e.details[0].type_url.ends_with("errdefs.FrontendCap+json"));
    }

    /// The image's label says the same (Dockerfile `ARG FRONTEND_CAPS`).
    #[test]
    fn image_label_lists_the_same_caps() {
        let dockerfile = include_str!("../../../Dockerfile");
        let line = dockerfile
            .lines()
            .find(|l| l.starts_with("ARG FRONTEND_CAPS="))
            .expect("Dockerfile has ARG FRONTEND_CAPS=");
        let label: Vec<&str> = line["ARG FRONTEND_CAPS=".len()..].split(',').collect();
        assert_eq!(label, SUPPORTED);
    }
}
