//! The two tiny LLB graphs the driver solves itself: a `local://` source plus
//! the return op, to fetch the spec file and `.dockerignore` from the client.
//! (Private helper: the compiler's own graphs come from slipway-llb.)

use slipway_proto::pb;

pub struct LocalSource<'a> {
    /// `dockerfile` or `context`.
    pub name: &'a str,
    pub follow_paths: Vec<String>,
    pub session_id: Option<&'a str>,
    pub shared_key_hint: &'a str,
    pub custom_name: String,
}

/// A `local://` source and the return op, built with slipway-llb's Graph
/// like every other Definition (same op bytes as the Go client's; the
/// metadata caps as in compiled builds).
pub fn local_definition(l: &LocalSource<'_>) -> pb::EncodedDefinition {
    let mut follow_paths = l.follow_paths.clone();
    follow_paths.sort();
    follow_paths.dedup();
    let (session_id, unique) = match l.session_id {
        Some(s) if !s.is_empty() => (Some(s.to_string()), None),
        // As the Go client does without a session: keep it from being shared.
        _ => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            (None, Some(format!("{nanos:x}{}", std::process::id())))
        }
    };
    let mut g = slipway_llb::Graph::new();
    let src = g.local(
        l.name,
        slipway_llb::LocalOpts {
            session_id,
            follow_paths,
            shared_key_hint: Some(l.shared_key_hint.to_string()),
            unique,
            ..Default::default()
        },
        slipway_llb::OpMeta::named(l.custom_name.clone()),
    );
    // A local source needs only `source.local` caps, which every daemon
    // Slipway supports has: no caps to check against.
    g.marshal(Some(src), None, None)
        .expect("a local source always marshals")
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn source<'a>(session_id: Option<&'a str>, follow_paths: &[&str]) -> LocalSource<'a> {
        LocalSource {
            name: "dockerfile",
            follow_paths: follow_paths.iter().map(|p| p.to_string()).collect(),
            session_id,
            shared_key_hint: "dockerfile",
            custom_name: "[internal] load build definition from slipway.yaml".into(),
        }
    }

    #[test]
    fn local_definition_shape() {
        let enc = local_definition(&source(
            Some("sess"),
            &["slipway.yaml", "slipway.yaml.dockerignore"],
        ));
        let d = enc.decode().unwrap();
        assert_eq!(d.def.len(), 2);
        let src = pb::Op::decode(d.def[0].as_slice()).unwrap();
        let ret = pb::Op::decode(d.def[1].as_slice()).unwrap();
        assert_eq!(ret.inputs[0].digest, slipway_llb::digest(&d.def[0]));
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
        assert!(!s.attrs.contains_key("local.unique"));
        let m = &d.metadata[&slipway_llb::digest(&d.def[0])];
        assert!(m.caps["source.local.followpaths"] && m.caps["source.local.sessionid"]);
        assert_eq!(
            m.description["llb.customname"],
            "[internal] load build definition from slipway.yaml"
        );
        // The source op's digest (hence its cache key) as the hand-written
        // encoder this replaced produced it for the same input (checked).
        assert_eq!(
            slipway_llb::digest(&d.def[0]),
            "sha256:ba531173e5425e81be70aaede59593ef8ff7691b5aeee16969ef5da3c2ce34d4"
        );
        // Deterministic with a session; follow paths sorted and deduplicated.
        let again = local_definition(&source(
            Some("sess"),
            &["slipway.yaml.dockerignore", "slipway.yaml", "slipway.yaml"],
        ));
        assert_eq!(again, enc);
    }

    #[test]
    fn without_a_session_the_source_is_unique() {
        let d = local_definition(&source(None, &["slipway.yaml"]))
            .decode()
            .unwrap();
        let Some(pb::op::Op::Source(s)) = pb::Op::decode(d.def[0].as_slice()).unwrap().op else {
            panic!()
        };
        assert!(!s.attrs.contains_key("local.session"));
        assert!(!s.attrs["local.unique"].is_empty());
        let m = &d.metadata[&slipway_llb::digest(&d.def[0])];
        assert!(m.caps["source.local.unique"]);
    }
}
