//! `Graph::marshal_owned` gives what `Graph::marshal` does, on graphs with
//! identical ops (digest dedup), inputs that are identical ops, unreachable
//! invalid ops and several results; it takes the table's bytes only when
//! every op is reachable.

use slipway_llb::*;

fn src() -> Option<SourceInfoInput<'static>> {
    Some(SourceInfoInput {
        filename: "s.yaml",
        data: b"stages: {}\n",
        language: "YAML",
    })
}

/// Builds the same graph into `g`; returns two results.
fn build(g: &mut Graph, n: usize) -> (State, State) {
    let img = |g: &mut Graph, i: usize| {
        g.image(
            "docker.io/library/alpine:latest",
            None,
            ImageAttrs::default(),
            OpMeta::named(format!("alpine {i}"))
                .with_range(SourceRange::lines(i as i32 + 1, i as i32 + 1)),
        )
    };
    let ctx = g.local(
        "context",
        LocalOpts {
            session_id: Some("s".into()),
            ..Default::default()
        },
        OpMeta::named("ctx"),
    );
    let mut last: State = None;
    let mut other: State = None;
    for i in 0..n {
        // Identical base images at different nodes: one digest.
        let a = img(g, i);
        let b = img(g, i + 1000);
        let mut e = Exec::shell(Some(a), &format!("make {}", i % 7));
        e.mounts
            .push(Mount::cache("/c", "c", pb::CacheSharingOpt::Shared));
        // Two inputs that are identical ops (deduplicated by digest).
        e.mounts.push(Mount::bind_ro("/b1", Some(b), "/"));
        e.mounts.push(Mount::bind_ro("/b2", Some(a), "/"));
        if let Some(prev) = last {
            e.mounts.push(Mount::bind_rw("/prev", Some(prev)));
        }
        let r = g.exec(
            e,
            OpMeta::named(format!("run {i}")).with_range(SourceRange::lines(5, 6)),
        );
        let f = g.file(
            FileOpBuilder::new(r.root()).copy(Some(ctx), Copy::new("/src", "/dst")),
            OpMeta::named(format!("copy {i}")),
        );
        last = f;
        if i == n / 2 {
            other = f;
        }
    }
    // An invalid op nobody uses.
    let _ = g.exec(Exec::new(None, vec![]), OpMeta::named("unused invalid"));
    (last, other)
}

#[test]
fn marshal_owned_gives_the_same_bytes_and_takes_the_table_only_when_whole() {
    let new = Graph::new;
    // Not every op reachable (the unused invalid op, `other`'s branch):
    // the table is copied from and stays usable.
    let mut g = new();
    let (last, other) = build(&mut g, 6);
    let want = g.marshal(other, src(), None).unwrap();
    let want_last = g.marshal(last, src(), None).unwrap();
    assert_eq!(g.marshal_owned(other, src(), None).unwrap(), want);
    assert_eq!(g.marshal(last, src(), None).unwrap(), want_last);

    // Every op reachable: the arena becomes the Definition.
    let mut g = new();
    let ctx = g.local("context", LocalOpts::default(), OpMeta::named("ctx"));
    let mut s = None;
    for i in 0..30 {
        let mut e = Exec::shell(s, &format!("step {}", i % 4));
        e.mounts.push(Mount::bind_ro("/ctx", Some(ctx), "/"));
        s = g.exec(e, OpMeta::named(format!("step {i}"))).root();
    }
    let want = g.marshal(s, src(), None).unwrap();
    let got = g.marshal_owned(s, src(), None).unwrap();
    assert_eq!(got, want);
    let def = got.decode().unwrap();
    assert_eq!(def.def.len(), 32, "30 execs, the context, the return op");
    // The table's bytes are gone: a second marshal is an error, not
    // wrong output or a panic.
    assert!(matches!(
        g.marshal(s, src(), None),
        Err(LlbError::Invalid { .. })
    ));
}
