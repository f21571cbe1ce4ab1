//! A remote build context (`context=URL`, as the Dockerfile frontend reads
//! it): a git repository (`git://host/repo.git#ref[:subdir]`, `https://…/x.git`,
//! `git@host:repo`) or an HTTP(S) tarball, unpacked. The gateway reads the spec
//! from the same state, so BuildKit fetches the source once.

use slipway_llb::{self as llb, Copy, FileOpBuilder, Graph, OpMeta, State};

/// Whether a URL names a git repository (else: an HTTP(S) download).
pub fn is_git_url(u: &str) -> bool {
    u.starts_with("git@")
        || u.starts_with("git://")
        || u.starts_with("ssh://")
        || u.starts_with("github.com/")
        || u.split('#').next().is_some_and(|b| b.ends_with(".git"))
}

/// `url#ref:subdir` → (url, ref, subdir); missing parts are empty.
pub fn split_git_url(u: &str) -> (String, String, String) {
    match u.split_once('#') {
        Some((a, frag)) => {
            let (r, sub) = frag.split_once(':').unwrap_or((frag, ""));
            (a.to_string(), r.to_string(), sub.to_string())
        }
        None => (u.to_string(), String::new(), String::new()),
    }
}

/// The state of the remote context at `url`.
pub fn remote_context(graph: &mut Graph, url: &str) -> State {
    if is_git_url(url) {
        let (remote, git_ref, subdir) = split_git_url(url);
        let remote = match remote.strip_prefix("github.com/") {
            Some(rest) => format!("https://github.com/{rest}"),
            None => remote,
        };
        return Some(graph.git(
            &remote,
            llb::GitOpts {
                git_ref,
                subdir,
                ..Default::default()
            },
            OpMeta::named(format!("[internal] load git source {url}")),
        ));
    }
    let http = Some(graph.http(
        url,
        llb::HttpOpts {
            filename: Some("context".into()),
            ..Default::default()
        },
        OpMeta::named("[internal] load remote build context"),
    ));
    let copy = Copy {
        attempt_unpack_docker_compatibility: true,
        ..Copy::new("/context", "/")
    };
    graph.file(
        FileOpBuilder::new(None).copy(http, copy),
        OpMeta::named(format!("[internal] unpack remote build context {url}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls() {
        assert!(is_git_url("git://127.0.0.1/app.git#main"));
        assert!(is_git_url("https://example.com/a/b.git"));
        assert!(is_git_url("git@github.com:a/b"));
        assert!(!is_git_url("http://127.0.0.1:8000/ctx.tar.gz"));
        assert_eq!(
            split_git_url("git://h/app.git#main:sub/dir"),
            ("git://h/app.git".into(), "main".into(), "sub/dir".into())
        );
        assert_eq!(
            split_git_url("git://h/app.git"),
            ("git://h/app.git".into(), String::new(), String::new())
        );
    }

    #[test]
    fn tarball_is_downloaded_then_unpacked() {
        let mut g = Graph::new();
        let st = remote_context(&mut g, "http://127.0.0.1:8000/ctx.tar");
        let def = g.marshal(st, None, None).unwrap().decode().unwrap();
        let json = serde_json::to_string_pretty(&llb::dump_json(&def)).unwrap();
        assert!(json.contains("http://127.0.0.1:8000/ctx.tar"), "{json}");
        assert!(json.contains("\"http.filename\": \"context\""), "{json}");
        assert!(
            json.contains("\"attempt_unpack_docker_compatibility\": true"),
            "{json}"
        );
    }
}
