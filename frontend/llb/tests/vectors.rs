//! The test vectors of `llb-wire.md` §7 (Go column): our bytes and digests
//! must equal what the Go client (and a v0.18+ server re-marshal) produce.

use std::collections::BTreeMap;

use prost::Message;
use slipway_llb::{
    digest, pb, verify, Exec, FileOpBuilder, Graph, ImageAttrs, MkDir, MkFile, OpMeta, UserRef,
};

const A_GO: &str = "sha256:a7f9733e307dd352c82d43053b783dd17bb2ec2c36214908ce393e41545c8b51";
const B_GO: &str = "sha256:12ba4d28f951f080d9f5aa5807bf6053293b49b8c2e9184ead27de6580795f6f";
const C_GO: &str = "sha256:bb404e43326b76d2ef7dbb371f03ac1f4d0cca2151233be4aaeafc981f6e8d93";
const D_PROST: &str = "sha256:1e9f257e36f89e0c66e773e436520cac9115fb83b11ef673f91c6ae1aaa5b50b";
const D_GO: &str = "sha256:7a8749453d5a41c66c541e9ceb2bda13d8bcc3ff3ecc9ddc7b3129c21e04c588";
const E_GO: &str = "sha256:b7ea9ea903a72f4710dcc651a577cc99bbe7187353777e514eedf8953eafcdd7";

fn amd64() -> pb::Platform {
    pb::Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        ..Default::default()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn vectors_a_b_c_through_the_builder() {
    let mut g = Graph::new();
    let a = g.image(
        "docker.io/library/alpine:latest",
        Some(amd64()),
        ImageAttrs::default(),
        OpMeta::default(),
    );
    let mut e = Exec::shell(Some(a), "echo hi");
    e.env = vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()];
    e.platform = Some(amd64());
    let b = g.exec(e, OpMeta::default());
    let def = g.marshal(b.root(), None, None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    assert_eq!(def.def.len(), 3);

    let id = hex(b"docker-image://docker.io/library/alpine:latest");
    assert_eq!(def.def[0].len(), 68);
    assert_eq!(
        hex(&def.def[0]),
        format!("520e0a05616d64363412056c696e75785a001a300a2e{id}")
    );
    assert_eq!(digest(&def.def[0]), A_GO);

    let bop = pb::Op::decode(def.def[1].as_slice()).unwrap();
    assert_eq!(
        bop.inputs,
        vec![pb::Input {
            digest: A_GO.into(),
            index: 0
        }]
    );
    let Some(pb::op::Op::Exec(x)) = &bop.op else {
        panic!()
    };
    assert_eq!(hex(&x.mounts[0].encode_to_vec()), "1a012f");
    assert_eq!(digest(&def.def[1]), B_GO);

    assert_eq!(hex(&def.def[2][..4]), "0a490a47");
    assert_eq!(&def.def[2][4..], B_GO.as_bytes());
    assert_eq!(digest(&def.def[2]), C_GO);

    // Metadata for every op, return op caps.
    assert_eq!(def.metadata.len(), 3);
    let ret_caps: Vec<_> = def.metadata[C_GO].caps.keys().cloned().collect();
    assert_eq!(ret_caps, ["constraints", "platform"]);
    let b_caps: Vec<_> = def.metadata[B_GO].caps.keys().cloned().collect();
    assert_eq!(b_caps, ["exec.meta.base", "exec.mount.bind"]);
    let a_caps: Vec<_> = def.metadata[A_GO].caps.keys().cloned().collect();
    assert_eq!(a_caps, ["source.image"]);
}

#[test]
fn vector_d_local_attrs_prost_column_and_no_empty_values() {
    let attrs: BTreeMap<String, String> = [
        ("local.followpaths", "[\"a\"]"),
        ("local.sharedkeyhint", "context"),
        ("local.unique", "u1"),
        ("zz.empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let op = pb::Op {
        op: Some(pb::op::Op::Source(pb::SourceOp {
            identifier: "local://context".into(),
            attrs: attrs.clone(),
        })),
        constraints: Some(pb::WorkerConstraints::default()),
        ..Default::default()
    };
    let bytes = op.encode_to_vec();
    // With an empty value prost differs from Go (which writes `12 00`)...
    assert_eq!(bytes.len(), 113);
    let h = hex(&bytes);
    // Our (Go-order) bytes: constraints first, then the source body, whose
    // last attr entry is the empty one, written prost-style without value.
    assert!(h.starts_with("5a001a6d"), "{h}");
    assert!(h.ends_with("120a0a087a7a2e656d707479"));
    // Moving constraints after the body gives the §7 prost column...
    let prost_order = unhex(&format!("{}5a00", &h[4..]));
    assert_eq!(digest(&prost_order), D_PROST);
    // ...and writing the empty value Go-style gives the Go column.
    let go = format!(
        "5a001a6f{}120c0a087a7a2e656d7074791200",
        &h[8..h.len() - "120a0a087a7a2e656d707479".len()]
    );
    assert_eq!(unhex(&go).len(), 115);
    assert_eq!(digest(&unhex(&go)), D_GO);
    // ...which is why the builder never emits one.
    let mut g = Graph::new();
    let s = g.raw_source("local://context", attrs, None, OpMeta::default());
    let def = g.marshal(Some(s), None, None).unwrap().decode().unwrap();
    let back = pb::Op::decode(def.def[0].as_slice()).unwrap();
    let Some(pb::op::Op::Source(src)) = back.op else {
        panic!()
    };
    assert!(!src.attrs.contains_key("zz.empty"));
    assert_eq!(src.attrs.len(), 3);
}

#[test]
fn vector_e_mkfile_on_scratch() {
    let mut g = Graph::new();
    let f = g.file(
        FileOpBuilder::new(None).mkfile(MkFile {
            path: "/hello".into(),
            mode: 0o644,
            data: b"hi\n".to_vec(),
            ..Default::default()
        }),
        OpMeta::default(),
    );
    let def = g.marshal(f, None, None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    let body = "22351233\
        08ffffffffffffffffff01\
        10ffffffffffffffffff01\
        2a1b0a062f68656c6c6f10a4031a0368690a28ffffffffffffffffff01";
    assert_eq!(hex(&def.def[0]), format!("5a00{body}"));
    assert_eq!(digest(&def.def[0]), E_GO);
    let caps: Vec<_> = def.metadata[E_GO].caps.keys().cloned().collect();
    assert_eq!(caps, ["file.base"]);
}

#[test]
fn vector_f_owner_by_id_zero_is_written() {
    let mut g = Graph::new();
    let f = g.file(
        FileOpBuilder::new(None).mkdir(MkDir {
            path: "/d".into(),
            mode: 0o755,
            owner: Some(slipway_llb::Chown {
                user: Some(UserRef::Id(0)),
                group: None,
            }),
            ..Default::default()
        }),
        OpMeta::default(),
    );
    let def = g.marshal(f, None, None).unwrap().decode().unwrap();
    let op = pb::Op::decode(def.def[0].as_slice()).unwrap();
    let Some(pb::op::Op::File(fo)) = op.op else {
        panic!()
    };
    let Some(pb::file_action::Action::Mkdir(m)) = &fo.actions[0].action else {
        panic!()
    };
    // path "/d", mode 0755, owner {user {byID 0}}, timestamp -1
    assert_eq!(
        hex(&m.encode_to_vec()),
        "0a022f6410ed0322040a02100028ffffffffffffffffff01"
    );
}
