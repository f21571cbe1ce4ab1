//! Another Definition's ops inside a graph (`Graph::add_definition`, the
//! `input:` named contexts of buildx bake): bytes and digests kept, metadata
//! and source map merged, result usable like any state, same bytes twice.

use std::collections::BTreeSet;

use prost::Message;
use slipway_llb::*;

/// A Definition as another build would send it: image → exec (with a
/// source range in its own file) → copy onto scratch.
fn base_definition() -> pb::Definition {
    let mut g = Graph::new();
    let a = g.image(
        "docker.io/library/alpine:latest",
        None,
        ImageAttrs::default(),
        OpMeta::named("base image"),
    );
    let r = g.exec(
        Exec::shell(Some(a), "make"),
        OpMeta::named("[base 1/2] make").with_range(SourceRange::lines(3, 4)),
    );
    let f = g.file(
        FileOpBuilder::new(None).copy(r.root(), Copy::new("/out", "/out")),
        OpMeta::named("[base 2/2] copy"),
    );
    let src = SourceInfoInput {
        filename: "base.yaml",
        data: b"stages: {}\n",
        language: "YAML",
    };
    g.marshal(f, Some(src), None).unwrap().decode().unwrap()
}

const SPEC: SourceInfoInput<'static> = SourceInfoInput {
    filename: "app.yaml",
    data: b"app: {}\n",
    language: "YAML",
};

/// A graph reading `input` as a named context: an exec on top of it.
fn app(input: &pb::Definition, owned: bool) -> pb::Definition {
    let mut g = Graph::new();
    let base = g.add_definition(input).unwrap();
    let r = g.exec(
        Exec::shell(base, "test -f /out"),
        OpMeta::named("[app 1/1] check").with_range(SourceRange::lines(1, 1)),
    );
    let def = if owned {
        g.marshal_owned(r.root(), Some(SPEC), None)
    } else {
        g.marshal(r.root(), Some(SPEC), None)
    };
    def.unwrap().decode().unwrap()
}

fn digests(def: &pb::Definition) -> Vec<String> {
    def.def.iter().map(|b| digest(b)).collect()
}

#[test]
fn foreign_ops_keep_their_bytes_metadata_and_source_map() {
    let base = base_definition();
    let out = app(&base, false);
    verify(&out).unwrap();
    // Every op of the input but its return op, byte for byte.
    let have: BTreeSet<&Vec<u8>> = out.def.iter().collect();
    for b in &base.def[..base.def.len() - 1] {
        assert!(have.contains(b), "a foreign op was changed or dropped");
    }
    assert_eq!(out.def.len(), base.def.len() - 1 + 2); // + exec + return op
                                                       // The exec reads the input's result (its copy op).
    let exec = pb::Op::decode(out.def[out.def.len() - 2].as_slice()).unwrap();
    let copy_digest = digest(&base.def[base.def.len() - 2]);
    assert_eq!(exec.inputs[0].digest, copy_digest);
    // Metadata kept (names), caps read off the op again.
    let make = digest(&base.def[1]);
    let md = &out.metadata[&make];
    assert_eq!(md.description["llb.customname"], "[base 1/2] make");
    assert_eq!(md.caps, base.metadata[&make].caps);
    // Source infos: the spec first, the input's after it; its locations
    // re-indexed to 1.
    let src = out.source.as_ref().unwrap();
    let files: Vec<&str> = src.infos.iter().map(|i| i.filename.as_str()).collect();
    assert_eq!(files, ["app.yaml", "base.yaml"]);
    let l = &src.locations[&make].locations;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].source_index, 1);
    assert_eq!(l[0].ranges[0].start.as_ref().unwrap().line, 3);
    let own = digests(&out)[out.def.len() - 2].clone();
    assert_eq!(src.locations[&own].locations[0].source_index, 0);
}

#[test]
fn same_input_same_bytes_owned_or_not() {
    let base = base_definition();
    let a = app(&base, false).encode_to_vec();
    let b = app(&base, false).encode_to_vec();
    let c = app(&base, true).encode_to_vec();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn bytes_prost_would_not_write_are_kept() {
    // A field this crate does not know (tag 99, varint 7) appended to the
    // image op: prost drops it on decode, the op must still be sent as is.
    let mut base = base_definition();
    let first = digest(&base.def[0]);
    base.def[0].extend_from_slice(&[0x98, 0x06, 0x07]);
    let new = digest(&base.def[0]);
    // Every later op (and its metadata) re-keyed to the changed digests.
    let mut renamed = vec![(first, new.clone())];
    for b in base.def[1..].iter_mut() {
        let mut op = pb::Op::decode(b.as_slice()).unwrap();
        let old_self = digest(b);
        for i in &mut op.inputs {
            if let Some((_, n)) = renamed.iter().find(|(o, _)| *o == i.digest) {
                i.digest = n.clone();
            }
        }
        *b = op.encode_to_vec();
        renamed.push((old_self, digest(b)));
    }
    for (o, n) in &renamed {
        if let Some(m) = base.metadata.remove(o) {
            base.metadata.insert(n.clone(), m);
        }
    }
    let out = app(&base, false);
    // (`verify` would refuse it: it checks Slipway's own ops re-encode.)
    assert!(out.def.contains(&base.def[0]));
    let exec = out
        .def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .find(|o| o.inputs.iter().any(|i| i.digest == new));
    assert!(exec.is_some(), "the exec reads the kept op by its digest");
    assert!(digests(&out).contains(&new));
}

#[test]
fn ops_listed_before_their_inputs_are_ordered() {
    let mut base = base_definition();
    let n = base.def.len();
    base.def[..n - 1].reverse(); // copy, exec, image: every input after its reader
    let out = app(&base, false);
    verify(&out).unwrap(); // inputs before readers
    assert_eq!(out.def.len(), n + 1);
}

#[test]
fn the_same_input_twice_is_one_set_of_ops() {
    let base = base_definition();
    let mut g = Graph::new();
    let a = g.add_definition(&base).unwrap();
    let b = g.add_definition(&base).unwrap();
    let m = g.merge(&[a, b], OpMeta::named("both"));
    let out = g.marshal(m, Some(SPEC), None).unwrap().decode().unwrap();
    verify(&out).unwrap();
    assert_eq!(out.def.len(), base.def.len() - 1 + 2);
    assert_eq!(out.source.unwrap().infos.len(), 2);
}

#[test]
fn broken_inputs_are_errors_and_empty_is_scratch() {
    let mut g = Graph::new();
    assert_eq!(g.add_definition(&pb::Definition::default()), Ok(None));

    let mut no_ret = base_definition();
    no_ret.def.pop();
    let e = g.add_definition(&no_ret).unwrap_err();
    assert!(e.0.contains("return op"), "{e}");

    let mut missing = base_definition();
    missing.def.remove(0); // the image the exec reads
    let e = g.add_definition(&missing).unwrap_err();
    assert!(e.0.contains("not in the Definition"), "{e}");

    let mut garbage = base_definition();
    garbage.def[0] = vec![0xff, 0xff];
    let e = g.add_definition(&garbage).unwrap_err();
    assert!(e.0.contains("does not decode"), "{e}");
}
