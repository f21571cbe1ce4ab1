//! Attestations buildx asks for (`attest:provenance`, `attest:sbom`).
//!
//! Provenance needs nothing from the frontend: BuildKit records it from the
//! solve. An SBOM is made by BuildKit running a scanner image (by default
//! `docker/buildkit-syft-scanner`) over the result. When that image cannot be
//! resolved, BuildKit fails late with only the scanner's name; the frontend
//! resolves it first and says what `--sbom` needs.

use slipway_proto::gateway as gw;

use crate::client::LlbBridge;
use crate::errors::FrontendError;
use crate::options::FrontendOptions;

const CODE_FAILED_PRECONDITION: i32 = 9;

/// BuildKit's default SBOM generator image.
pub const DEFAULT_SCANNER: &str = "docker/buildkit-syft-scanner:stable-1";

/// The scanner image an `attest:sbom` option asks for; None when no SBOM is
/// requested (`disabled=true`, or no option).
pub fn sbom_scanner(opts: &FrontendOptions) -> Option<String> {
    let v = opts.raw.get("attest:sbom")?;
    let mut generator = None;
    for kv in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some(("disabled", d)) if d.eq_ignore_ascii_case("true") => return None,
            Some(("generator", g)) if !g.is_empty() => generator = Some(g.to_string()),
            _ => {}
        }
    }
    Some(generator.unwrap_or_else(|| DEFAULT_SCANNER.to_string()))
}

/// Fail early, and clearly, when an SBOM is asked for and its scanner image
/// cannot be resolved.
pub async fn check(bridge: &LlbBridge, opts: &FrontendOptions) -> Result<(), FrontendError> {
    if opts.request_id.is_some() {
        return Ok(());
    }
    let Some(scanner) = sbom_scanner(opts) else {
        return Ok(());
    };
    let normalized = slipway_llb::normalize_image_ref(&scanner).map_err(|e| {
        FrontendError::invalid(format!(
            "--sbom: the scanner `{scanner}` is not a valid image reference: {e}"
        ))
    })?;
    let req = gw::ResolveImageConfigRequest {
        r#ref: normalized.clone(),
        resolve_mode: "default".into(),
        log_name: format!("[internal] load metadata for SBOM scanner {normalized}"),
        ..Default::default()
    };
    match bridge.resolve_image_config(req).await {
        Ok(_) => Ok(()),
        Err(s) => {
            let why = crate::client::status_to_rpc(&s).message;
            let mut e = FrontendError::new(
                CODE_FAILED_PRECONDITION,
                format!(
                    "--sbom: BuildKit makes the SBOM by running the scanner image {normalized}, \
                     which it cannot resolve: {why}\nhint: make the scanner reachable from the \
                     BuildKit daemon (e.g. mirror it into your registry) or name one with \
                     `--attest type=sbom,generator=IMAGE`; or build without `--sbom` \
                     (provenance does not need it)"
                ),
            );
            e.details.clear();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: Option<&str>) -> FrontendOptions {
        let mut o = FrontendOptions::default();
        if let Some(v) = v {
            o.raw.insert("attest:sbom".into(), v.into());
        }
        o
    }

    #[test]
    fn which_scanner() {
        assert_eq!(sbom_scanner(&opts(None)), None);
        assert_eq!(
            sbom_scanner(&opts(Some(""))).as_deref(),
            Some(DEFAULT_SCANNER)
        );
        assert_eq!(
            sbom_scanner(&opts(Some("generator=reg:5000/scan:1"))).as_deref(),
            Some("reg:5000/scan:1")
        );
        assert_eq!(sbom_scanner(&opts(Some("disabled=true"))), None);
    }
}
