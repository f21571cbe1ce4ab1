//! Snapshot tests of conversions: each `tests/fixtures/*.Dockerfile` converts to
//! the snapshotted YAML and warnings (or errors); every successful output is a
//! spec that `slipway check` accepts (slipway_spec::load) and that compiles.

use std::path::Path;

use slipway_convert::{convert, Options};

mod convert_check {
    include!("common/check.rs");
}
use convert_check::check;

fn run(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.Dockerfile"));
    let text = std::fs::read_to_string(&path).unwrap();
    let file = format!("{name}.Dockerfile");
    match convert(&file, &text, &Options::default()) {
        Ok(c) => {
            let mut out = c.yaml.clone();
            out.push_str("\n----- warnings -----\n");
            for w in &c.warnings {
                out.push_str(&w.render(&file, &text));
            }
            if let Err(e) = check(&c.yaml) {
                panic!(
                    "{name}: the converted spec does not pass check:\n{e}\n{}",
                    c.yaml
                );
            }
            out
        }
        Err(d) => format!("----- errors -----\n{}", d.render()),
    }
}

#[test]
fn features() {
    insta::assert_snapshot!(run("features"));
}

#[test]
fn scoping() {
    insta::assert_snapshot!(run("scoping"));
}

#[test]
fn escape_directive() {
    insta::assert_snapshot!(run("escape"));
}

#[test]
fn unknown_instruction_is_a_located_error() {
    let out = run("bad");
    assert!(
        out.contains("error[unknown-instruction]: unknown instruction `FROOM`"),
        "{out}"
    );
    assert!(out.contains("bad.Dockerfile:3:1"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn instruction_before_from() {
    insta::assert_snapshot!(run("before-from"));
}

/// Same input, same bytes.
#[test]
fn deterministic() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features.Dockerfile"),
    )
    .unwrap();
    let a = convert("f", &text, &Options::default()).unwrap().yaml;
    let b = convert("f", &text, &Options::default()).unwrap().yaml;
    assert_eq!(a, b);
}

/// Each example's Dockerfile twin converts with no warning to a spec that
/// checks and compiles, with the same stages as the twin.
#[test]
fn example_twins_convert_and_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path().join("Dockerfile");
        if !p.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let c = convert("Dockerfile", &text, &Options::default())
            .unwrap_or_else(|d| panic!("{}: {d}", p.display()));
        assert!(c.warnings.is_empty(), "{}: {:?}", p.display(), c.warnings);
        let stages = check(&c.yaml).unwrap_or_else(|e| panic!("{}: {e}\n{}", p.display(), c.yaml));
        let froms = text.lines().filter(|l| l.starts_with("FROM ")).count();
        assert_eq!(stages, froms, "{}", p.display());
        n += 1;
    }
    assert!(n >= 9, "only {n} example twins found");
}

/// What the converted spec means, read back through the evaluator: heredoc
/// scripts, file contents, env and paths come out as Docker would use them.
#[test]
fn converted_values_round_trip() {
    use slipway_spec::{Command, StepKind};
    let src = "FROM alpine AS a\nARG V\nENV A=1 B=\"x $A\" C=$V\nWORKDIR /src\nRUN <<EOF\n  indented\nplain \"$HOME\"\nEOF\nCOPY <<'EOT' /etc/x.sh\necho $PATH \\$1\nEOT\nCOPY <<EOT /etc/y\nv=${A} say \"hi\" \\\\$A \\$B 'q'\nEOT\nWORKDIR /app\nRUN cd .. && \\\n  ls\nRUN echo 'a \\\n  b'\nCOPY f rel/\n";
    let c = convert("Dockerfile", src, &Options::default()).unwrap();
    let plan = slipway_spec::load("s.yaml", &c.yaml, &Default::default())
        .unwrap_or_else(|d| panic!("{d}\n{}", c.yaml))
        .plan;
    let st = &plan.stages[0];
    assert_eq!(
        st.env,
        vec![
            ("A".into(), "1".into()),
            ("B".into(), "x 1".into()),
            ("C".into(), "".into())
        ]
    );
    assert_eq!(st.workdir.as_ref().unwrap().value, "/app");
    let cmds: Vec<&StepKind> = st.steps.iter().map(|s| &s.kind).collect();
    assert!(
        matches!(cmds[0], StepKind::Mkdir(m) if m.path == "/src"),
        "{:?}",
        cmds[0]
    );
    let StepKind::Run(r) = cmds[1] else {
        panic!("{:?}", cmds[1])
    };
    assert_eq!(
        r.command,
        Command::Shell("  indented\nplain \"$HOME\"\n".into())
    );
    assert_eq!(r.workdir.as_deref(), Some("/src"));
    let StepKind::File(f) = cmds[2] else { panic!() };
    assert_eq!(
        (f.path.as_str(), f.content.as_str()),
        ("/etc/x.sh", "echo $PATH \\$1\n")
    );
    let StepKind::File(f) = cmds[3] else { panic!() };
    assert_eq!(f.content, "v=1 say \"hi\" \\1 $B 'q'\n");
    let StepKind::Run(r) = cmds[4] else { panic!() };
    assert_eq!(r.command, Command::Shell("cd .. && ls".into()));
    assert_eq!(r.workdir, None);
    // a continuation inside quotes keeps Docker's exact joined string
    let StepKind::Run(r) = cmds[5] else { panic!() };
    assert_eq!(r.command, Command::Shell("echo 'a   b'".into()));
    let StepKind::Copy(cp) = cmds[6] else {
        panic!()
    };
    assert_eq!(cp.to.as_deref(), Some("rel/"));
}
