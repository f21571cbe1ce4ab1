//! Several target platforms in one build (`platform=linux/amd64,linux/arm64`,
//! or `multi-platform=true`): one build per platform, concurrently, and one
//! result with a ref per platform, as BuildKit's exporters expect it:
//!
//! - `refs`: platform id (`linux/arm64`, containerd's format) → ref;
//! - `containerimage.config/<id>`: that platform's image config;
//! - `refs.platforms`: `{"Platforms":[{"ID":id,"Platform":{OCI platform}}]}`
//!   in the order the platforms were asked for;
//! - `source.date.epoch` (and `/<id>`) when the build has a `SOURCE_DATE_EPOCH`.
//!
//! Also the check that no `run` step needs a platform the workers cannot
//! execute (no emulator on this machine): BuildKit would start the step and
//! fail with `exec format error`; Slipway says which step and platform.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use slipway_compiler::timestamps::EXPORTER_EPOCH_KEY as EPOCH_KEY;
use slipway_proto::gateway as gw;
use slipway_proto::{pb, rpc};
use slipway_spec::{Plan, Platform};

use crate::client::LlbBridge;
use crate::driver::{self, Pipeline, ServerInfo};
use crate::errors::{self, FrontendError};
use crate::options::{FrontendOptions, Worker};

/// `refs.platforms` metadata key.
pub const PLATFORMS_KEY: &str = "refs.platforms";
/// `containerimage.config` (suffixed with `/<platform id>` per platform).
pub const CONFIG_KEY: &str = "containerimage.config";
const CODE_FAILED_PRECONDITION: i32 = 9;

/// Whether these options ask for a result per platform.
pub fn is_multi(opts: &FrontendOptions) -> bool {
    opts.request_id.is_none() && (opts.multi_platform || opts.platforms.len() > 1)
}

/// Build every platform and return one result with a ref per platform.
pub async fn run_multi<P: Pipeline>(
    bridge: &LlbBridge,
    opts: FrontendOptions,
    pipeline: Arc<P>,
) -> Result<gw::Result, FrontendError> {
    let pong = bridge
        .ping()
        .await
        .map_err(|s| FrontendError::from_status("BuildKit did not answer Ping", &s))?;
    let server = ServerInfo::from_pong(&pong);
    let mut platforms = opts.platforms.clone();
    if platforms.is_empty() {
        // `multi-platform=true` alone: the build platform, as one entry.
        let workers = if server.workers.is_empty() {
            &opts.workers
        } else {
            &server.workers
        };
        platforms.extend(
            workers
                .iter()
                .flat_map(|w| w.platforms.first())
                .take(1)
                .cloned(),
        );
        if platforms.is_empty() {
            platforms.push(Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            });
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in platforms.iter().enumerate() {
        // Spec warnings are the same for every platform: sent once.
        let o = opts
            .for_platform(p, i > 0)
            .map_err(|e| FrontendError::invalid(e.0))?;
        let (b, pl, p) = (bridge.clone(), pipeline.clone(), p.clone());
        set.spawn(async move {
            (
                i,
                driver::run(&b, o, pl).await.map_err(|e| on_platform(e, &p)),
            )
        });
    }
    let mut results: Vec<Option<gw::Result>> = vec![None; platforms.len()];
    let mut first_err: Option<(usize, FrontendError)> = None;
    while let Some(j) = set.join_next().await {
        match j {
            Ok((i, Ok(r))) => results[i] = Some(r),
            Ok((i, Err(e))) => {
                // The first platform's error when several fail: deterministic.
                if first_err.as_ref().is_none_or(|(k, _)| i < *k) {
                    first_err = Some((i, e));
                }
            }
            Err(j) => {
                let e = FrontendError::new(
                    errors::CODE_INTERNAL,
                    errors::panic_message(&j.to_string()),
                );
                first_err.get_or_insert((usize::MAX, e));
            }
        }
    }
    if let Some((_, e)) = first_err {
        return Err(e);
    }
    let per_platform: Vec<(Platform, gw::Result)> = platforms
        .into_iter()
        .zip(results)
        .map(|(p, r)| (p, r.unwrap_or_default()))
        .collect();
    Ok(assemble(&server, per_platform))
}

/// Append the platform to a failure's message (it may be the only thing
/// that tells the platforms' builds apart).
fn on_platform(mut e: FrontendError, p: &Platform) -> FrontendError {
    let id = p.to_string();
    if !e.message.contains(&id) {
        e.message = format!("{} (building for {id})", e.message);
    }
    e
}

/// One result from the platforms' single results (each with one ref and
/// `containerimage.config`), in the given order.
pub fn assemble(server: &ServerInfo, per_platform: Vec<(Platform, gw::Result)>) -> gw::Result {
    let mut refs = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    let mut listed = Vec::new();
    for (p, r) in per_platform {
        let id = p.to_string();
        let ref_id = r.single_ref_id().unwrap_or_default().to_string();
        refs.insert(id.clone(), ref_id);
        if let Some(cfg) = r.metadata.get(CONFIG_KEY) {
            metadata.insert(format!("{CONFIG_KEY}/{id}"), cfg.clone());
        }
        // SOURCE_DATE_EPOCH for the exporter (the same for every platform): per
        // platform as BuildKit's Dockerfile frontend returns it, and unsuffixed,
        // the only key BuildKit v0.24's exporters read.
        if let Some(e) = r.metadata.get(EPOCH_KEY) {
            metadata.insert(format!("{EPOCH_KEY}/{id}"), e.clone());
            metadata
                .entry(EPOCH_KEY.to_string())
                .or_insert_with(|| e.clone());
        }
        listed.push(json!({"ID": id, "Platform": oci_platform(&p)}));
    }
    metadata.insert(
        PLATFORMS_KEY.to_string(),
        json!({ "Platforms": listed }).to_string().into_bytes(),
    );
    let result = if server.has("proto.refarray") || server.frontend_caps.is_empty() {
        gw::result::Result::Refs(gw::RefMap {
            refs: refs
                .into_iter()
                .map(|(k, id)| (k, gw::Ref { id, def: None }))
                .collect(),
        })
    } else {
        gw::result::Result::RefsDeprecated(gw::RefMapDeprecated { refs })
    };
    gw::Result {
        result: Some(result),
        metadata,
    }
}

/// The OCI platform object (Go's `specs.Platform` JSON: `variant` omitted
/// when empty).
fn oci_platform(p: &Platform) -> serde_json::Value {
    let mut v = json!({"architecture": p.architecture, "os": p.os});
    if let Some(var) = p.variant.as_deref().filter(|s| !s.is_empty()) {
        v["variant"] = json!(var);
    }
    v
}

/// Whether some worker executes binaries of `p` (same OS and architecture;
/// for arm, the same variant too: v6 cannot run v7).
pub fn runnable(workers: &[Worker], p: &Platform) -> bool {
    workers.iter().flat_map(|w| &w.platforms).any(|w| {
        w.os == p.os
            && w.architecture == p.architecture
            && (p.architecture != "arm" || w.variant == p.variant)
    })
}

fn runnable_pb(workers: &[Worker], p: &pb::Platform) -> bool {
    let p = Platform {
        os: p.os.clone(),
        architecture: p.architecture.clone(),
        variant: Some(p.variant.clone()).filter(|v| !v.is_empty()),
    };
    runnable(workers, &p)
}

/// Fail before solving when a `run` step (an exec op) is for a platform no
/// worker can execute: the message names the step, its line and the
/// platform, and says how to avoid emulation. Unknown workers: no check.
/// The Definition is decoded only when some platform of the build is not
/// runnable (the target's or a stage's `platform:`).
pub fn check_emulation(
    workers: &[Worker],
    target: &Platform,
    def: &pb::EncodedDefinition,
    plan: &Plan,
) -> Result<(), FrontendError> {
    if workers.iter().all(|w| w.platforms.is_empty()) {
        return Ok(());
    }
    let suspicious = !runnable(workers, target)
        || plan
            .stages
            .iter()
            .filter_map(|s| s.platform.as_ref())
            .any(|p| !runnable(workers, &p.value));
    if !suspicious {
        return Ok(());
    }
    let Ok(d) = def.decode() else {
        return Ok(());
    };
    for bytes in &d.def {
        let Ok(op) = <pb::Op as prost::Message>::decode(bytes.as_slice()) else {
            continue;
        };
        if !matches!(op.op, Some(pb::op::Op::Exec(_))) {
            continue;
        }
        let Some(p) = op.platform.as_ref().filter(|p| !runnable_pb(workers, p)) else {
            continue;
        };
        return Err(needs_emulation(
            workers,
            p,
            &slipway_llb::digest(bytes),
            &d,
            plan,
        ));
    }
    Ok(())
}

fn needs_emulation(
    workers: &[Worker],
    p: &pb::Platform,
    digest: &str,
    def: &pb::Definition,
    plan: &Plan,
) -> FrontendError {
    let id = if p.variant.is_empty() {
        format!("{}/{}", p.os, p.architecture)
    } else {
        format!("{}/{}/{}", p.os, p.architecture, p.variant)
    };
    let mut have: Vec<String> = workers
        .iter()
        .flat_map(|w| &w.platforms)
        .map(|p| p.to_string())
        .collect();
    have.dedup();
    // Located as a failure of that vertex would be (source map → step).
    let st = rpc::Status {
        code: CODE_FAILED_PRECONDITION,
        message: String::new(),
        details: vec![rpc::Any {
            type_url: "github.com/moby/buildkit/errdefs.Vertex+json".into(),
            value: json!({ "digest": digest }).to_string().into_bytes(),
        }],
    };
    let site = errors::locate_failure(&st, def, plan);
    let place = match &site {
        Some(s) => {
            let what = match (&s.step, &s.stage) {
                (Some(step), Some(stage)) => format!("step \"{step}\" in stage {stage}"),
                (None, Some(stage)) => format!("a step in stage {stage}"),
                _ => "a run step".to_string(),
            };
            format!("{}:{}: {what}", s.filename, s.line)
        }
        None => format!("{}: a run step", plan.filename),
    };
    let message = format!(
        "{place} runs on {id}, which this BuildKit cannot execute: its workers run {} and no \
         emulator for {id} is installed (binfmt_misc/QEMU)\nhint: run build tools on the build \
         platform and cross-compile: `platform: ${{BUILDPLATFORM}}` on the stage, with \
         `${{TARGETOS}}`/`${{TARGETARCH}}` in the command (e.g. GOOS=${{TARGETOS}} \
         GOARCH=${{TARGETARCH}}); or install emulators on the BuildKit host \
         (`docker run --privileged --rm tonistiigi/binfmt --install all`)",
        have.join(", ")
    );
    let mut details = Vec::new();
    if let Some(s) = &site {
        let col = 1;
        details.push(errors::source_detail(
            &s.filename,
            plan.source.as_bytes(),
            (s.line, col),
            (s.line, col),
        ));
    }
    FrontendError {
        code: CODE_FAILED_PRECONDITION,
        message,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plat(s: &str) -> Platform {
        slipway_spec::parse_platform(s).unwrap()
    }

    fn amd64_worker() -> Vec<Worker> {
        vec![Worker {
            id: "w".into(),
            labels: BTreeMap::new(),
            platforms: ["linux/amd64", "linux/amd64/v2", "linux/386"]
                .iter()
                .map(|s| plat(s))
                .collect(),
        }]
    }

    #[test]
    fn runnable_platforms() {
        let w = amd64_worker();
        assert!(runnable(&w, &plat("linux/amd64")));
        assert!(runnable(&w, &plat("linux/386")));
        assert!(!runnable(&w, &plat("linux/arm64")));
        assert!(!runnable(&w, &plat("windows/amd64")));
    }

    #[test]
    fn assemble_shape() {
        let one = |id: &str, arch: &str| gw::Result {
            result: Some(gw::result::Result::Ref(gw::Ref {
                id: id.into(),
                def: None,
            })),
            metadata: [(
                CONFIG_KEY.to_string(),
                format!(r#"{{"architecture":"{arch}"}}"#).into_bytes(),
            )]
            .into_iter()
            .collect(),
        };
        let server = ServerInfo {
            frontend_caps: ["proto.refarray".to_string()].into_iter().collect(),
            ..Default::default()
        };
        let r = assemble(
            &server,
            vec![
                (plat("linux/arm64"), one("r-arm", "arm64")),
                (plat("linux/amd64"), one("r-amd", "amd64")),
                (plat("linux/arm/v7"), one("r-v7", "arm")),
            ],
        );
        let Some(gw::result::Result::Refs(m)) = &r.result else {
            panic!("{r:?}")
        };
        assert_eq!(m.refs["linux/arm64"].id, "r-arm");
        assert_eq!(m.refs["linux/amd64"].id, "r-amd");
        assert_eq!(m.refs["linux/arm/v7"].id, "r-v7");
        assert_eq!(
            r.metadata["containerimage.config/linux/arm64"],
            br#"{"architecture":"arm64"}"#
        );
        assert!(!r.metadata.contains_key(CONFIG_KEY));
        assert!(!r.metadata.contains_key(EPOCH_KEY), "no epoch, no key");
        assert_eq!(
            String::from_utf8(r.metadata[PLATFORMS_KEY].clone()).unwrap(),
            r#"{"Platforms":[{"ID":"linux/arm64","Platform":{"architecture":"arm64","os":"linux"}},{"ID":"linux/amd64","Platform":{"architecture":"amd64","os":"linux"}},{"ID":"linux/arm/v7","Platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#
        );
        // The epoch reaches the exporter: per platform and unsuffixed (BuildKit v0.24 reads that).
        let mut a = one("r-arm", "arm64");
        a.metadata.insert(EPOCH_KEY.into(), b"1704067200".to_vec());
        let mut b = one("r-amd", "amd64");
        b.metadata.insert(EPOCH_KEY.into(), b"1704067200".to_vec());
        let r = assemble(
            &server,
            vec![(plat("linux/arm64"), a), (plat("linux/amd64"), b)],
        );
        assert_eq!(r.metadata[EPOCH_KEY], b"1704067200");
        assert_eq!(r.metadata["source.date.epoch/linux/arm64"], b"1704067200");
        assert_eq!(r.metadata["source.date.epoch/linux/amd64"], b"1704067200");
        // A server without proto.refarray gets the deprecated map.
        let old = ServerInfo {
            frontend_caps: ["returnmap".to_string()].into_iter().collect(),
            ..Default::default()
        };
        let r = assemble(&old, vec![(plat("linux/amd64"), one("r", "amd64"))]);
        let Some(gw::result::Result::RefsDeprecated(m)) = &r.result else {
            panic!("{r:?}")
        };
        assert_eq!(m.refs["linux/amd64"], "r");
    }
}
