//! `--build-context NAME=oci-layout://…`: an image in an OCI layout on the
//! client. buildx (and `buildctl --oci-layout`) expose the layout as a content
//! store of the session and send `context:NAME=oci-layout://STORE[:TAG]@DIGEST`.
//! The frontend asks BuildKit for the image config from that store
//! (ResolveImageConfig with the OCI-layout resolver), and the compiler makes
//! an `oci-layout://` source of it, as the Dockerfile frontend does.

use slipway_compiler::{NamedContext, OciLayoutContext};
use slipway_proto::gateway as gw;
use slipway_spec::Platform;

use crate::client::LlbBridge;
use crate::errors::{self, FrontendError};

/// ResolveImageConfig's resolver type for OCI layouts (BuildKit v0.11+).
const RESOLVER_OCI_LAYOUT: i32 = 1;

/// `STORE[:TAG]@sha256:HEX` → (store, digest).
pub fn parse(value: &str) -> Result<(String, String), String> {
    let spec = value
        .strip_prefix("oci-layout://")
        .unwrap_or(value)
        .trim_start_matches('/');
    let (name, digest) = spec.split_once('@').ok_or_else(|| {
        format!("`{value}` has no digest (expected oci-layout://STORE[:TAG]@sha256:…)")
    })?;
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| format!("`{value}`: `{digest}` is not a sha256 digest"))?;
    // A tag after the last `/` (a `:` before it would be a port).
    let store = match name.rsplit_once(':') {
        Some((s, tag)) if !tag.contains('/') => s,
        _ => name,
    };
    if store.is_empty() {
        return Err(format!("`{value}` names no content store"));
    }
    Ok((store.to_string(), format!("sha256:{hex}")))
}

/// Resolve the named context NAME=`value` for `platform`.
pub async fn resolve(
    bridge: &LlbBridge,
    name: &str,
    value: &str,
    session: Option<&str>,
    platform: &Platform,
    server_has_oci: bool,
) -> Result<NamedContext, FrontendError> {
    let bad = |why: String| FrontendError::invalid(format!("named context `{name}`: {why}"));
    let (store, digest) = parse(value).map_err(bad)?;
    if !server_has_oci {
        return Err(FrontendError::new(
            errors::CODE_UNIMPLEMENTED,
            format!(
                "named context `{name}={value}`: this BuildKit cannot read OCI layouts from the \
                 client (needs v0.11 or later); push the image to a registry and pass \
                 `docker-image://REF` instead"
            ),
        ));
    }
    // As the Dockerfile frontend: the context's name with the digest stands
    // for the image in logs and in the source's identifier.
    let dummy = slipway_llb::normalize_image_ref(&format!("{}@{digest}", name.to_lowercase()))
        .map_err(|e| bad(format!("`{name}` cannot name an image reference: {e}")))?;
    let session = session.unwrap_or_default().to_string();
    let req = gw::ResolveImageConfigRequest {
        r#ref: dummy.clone(),
        platform: Some(slipway_proto::pb::Platform {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone().unwrap_or_default(),
            ..Default::default()
        }),
        log_name: format!("[context {name}] load metadata for {dummy}"),
        resolver_type: RESOLVER_OCI_LAYOUT,
        session_id: session.clone(),
        store_id: store.clone(),
        ..Default::default()
    };
    let resp = bridge.resolve_image_config(req).await.map_err(|s| {
        FrontendError::from_status(
            &format!(
                "named context `{name}`: reading the image from the OCI layout `{store}` failed"
            ),
            &s,
        )
    })?;
    Ok(NamedContext::OciLayout(OciLayoutContext {
        reference: dummy,
        store,
        session,
        config: resp.config,
    }))
}

#[cfg(test)]
mod tests {
    use super::parse;

    const D: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn parses_store_tag_and_digest() {
        assert_eq!(
            parse(&format!("oci-layout://st0re:latest@{D}")).unwrap(),
            ("st0re".to_string(), D.to_string())
        );
        assert_eq!(
            parse(&format!("oci-layout://abc@{D}")).unwrap(),
            ("abc".to_string(), D.to_string())
        );
        for bad in [
            "oci-layout://abc:latest".to_string(),
            "oci-layout://abc@sha256:12".to_string(),
            format!("oci-layout://@{D}"),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }
}
