//! The two tiny LLB graphs the driver solves itself: a `local://` source plus
//! the return op, to fetch the spec file and `.dockerignore` from the client.
//! (Private helper: the compiler's own graphs come from slipway-llb.)

use std::collections::BTreeMap;

use prost::Message;
use sha2::{Digest, Sha256};
use slipway_proto::pb;

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub struct LocalSource<'a> {
    /// `dockerfile` or `context`.
    pub name: &'a str,
    pub follow_paths: Vec<String>,
    pub session_id: Option<&'a str>,
    pub shared_key_hint: &'a str,
    pub custom_name: String,
}

pub fn local_definition(l: &LocalSource<'_>) -> pb::Definition {
    let mut attrs = BTreeMap::new();
    let mut caps = BTreeMap::new();
    caps.insert("source.local".to_string(), true);
    if !l.follow_paths.is_empty() {
        let mut paths = l.follow_paths.clone();
        paths.sort();
        paths.dedup();
        attrs.insert(
            "local.followpaths".to_string(),
            serde_json::to_string(&paths).unwrap_or_else(|_| "[]".into()),
        );
        caps.insert("source.local.followpaths".to_string(), true);
    }
    match l.session_id {
        Some(s) if !s.is_empty() => {
            attrs.insert("local.session".to_string(), s.to_string());
            caps.insert("source.local.sessionid".to_string(), true);
        }
        _ => {
            // As the Go client does without a session: keep it from being shared.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            attrs.insert(
                "local.unique".to_string(),
                format!("{nanos:x}{}", std::process::id()),
            );
            caps.insert("source.local.unique".to_string(), true);
        }
    }
    attrs.insert(
        "local.sharedkeyhint".to_string(),
        l.shared_key_hint.to_string(),
    );
    caps.insert("source.local.sharedkeyhint".to_string(), true);

    let src = pb::Op {
        inputs: vec![],
        op: Some(pb::op::Op::Source(pb::SourceOp {
            identifier: format!("local://{}", l.name),
            attrs,
        })),
        platform: None,
        constraints: Some(pb::WorkerConstraints::default()),
    };
    let src_bytes = src.encode_to_vec();
    let src_digest = digest(&src_bytes);
    let ret = pb::Op {
        inputs: vec![pb::Input {
            digest: src_digest.clone(),
            index: 0,
        }],
        ..Default::default()
    };
    let ret_bytes = ret.encode_to_vec();
    let ret_digest = digest(&ret_bytes);

    let mut metadata = BTreeMap::new();
    metadata.insert(
        src_digest,
        pb::OpMetadata {
            description: [("llb.customname".to_string(), l.custom_name.clone())]
                .into_iter()
                .collect(),
            caps,
            ..Default::default()
        },
    );
    metadata.insert(
        ret_digest,
        pb::OpMetadata {
            caps: [
                ("constraints".to_string(), true),
                ("platform".to_string(), true),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        },
    );
    pb::Definition {
        def: vec![src_bytes, ret_bytes],
        metadata,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_definition_shape() {
        let d = local_definition(&LocalSource {
            name: "dockerfile",
            follow_paths: vec!["slipway.yaml".into(), "slipway.yaml.dockerignore".into()],
            session_id: Some("sess"),
            shared_key_hint: "dockerfile",
            custom_name: "[internal] load build definition from slipway.yaml".into(),
        });
        assert_eq!(d.def.len(), 2);
        let src = pb::Op::decode(d.def[0].as_slice()).unwrap();
        let ret = pb::Op::decode(d.def[1].as_slice()).unwrap();
        assert_eq!(ret.inputs[0].digest, digest(&d.def[0]));
        assert!(ret.op.is_none());
        let Some(pb::op::Op::Source(s)) = src.op else {
            panic!()
        };
        assert_eq!(s.identifier, "local://dockerfile");
        assert_eq!(
            s.attrs["local.followpaths"],
            r#"["slipway.yaml","slipway.yaml.dockerignore"]"#
        );
        assert_eq!(s.attrs["local.session"], "sess");
        assert_eq!(s.attrs["local.sharedkeyhint"], "dockerfile");
        let m = &d.metadata[&digest(&d.def[0])];
        assert!(m.caps["source.local.followpaths"] && m.caps["source.local.sessionid"]);
        assert_eq!(
            m.description["llb.customname"],
            "[internal] load build definition from slipway.yaml"
        );
        // Deterministic with a session.
        let again = local_definition(&LocalSource {
            name: "dockerfile",
            follow_paths: vec!["slipway.yaml.dockerignore".into(), "slipway.yaml".into()],
            session_id: Some("sess"),
            shared_key_hint: "dockerfile",
            custom_name: "[internal] load build definition from slipway.yaml".into(),
        });
        assert_eq!(again, d);
    }
}
