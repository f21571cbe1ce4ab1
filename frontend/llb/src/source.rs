//! Source ops (`docker-image://`, `local://`, `git://`, `http(s)://`): the
//! identifier and string attrs of `llb-wire.md` §3. Attrs with empty values
//! are never written (Go and prost encode them differently, §6). Only image
//! sources keep a platform, as the Go client does.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::{Graph, NodeKind, OpMeta, Output};
use crate::pb;

/// Attrs of a `docker-image://` source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageAttrs {
    /// `image.resolvemode`: `default` | `pull` | `local` (cap only for `pull`).
    pub resolve_mode: Option<String>,
    /// `image.recordtype`: e.g. `internal`.
    pub record_type: Option<String>,
    /// `image.layerlimit` (> 0).
    pub layer_limit: Option<u32>,
    /// `image.checksum`: an expected manifest digest.
    pub checksum: Option<String>,
}

/// Options of a `local://` source (a directory from the client session).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalOpts {
    /// `local.session`. Without it the Go client adds a random `local.unique`;
    /// Slipway stays deterministic and adds nothing.
    pub session_id: Option<String>,
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub follow_paths: Vec<String>,
    /// `local.sharedkeyhint`.
    pub shared_key_hint: Option<String>,
    /// `local.unique`: what the Go client sets (randomly) when there is no
    /// session, so that the source is not shared. The compiler never sets it.
    pub unique: Option<String>,
    /// `local.differ`: `none` | `metadata`.
    pub differ: Option<String>,
    /// Add cap `source.local.differ` (fail on servers without it) instead of
    /// letting old servers silently ignore the differ.
    pub differ_required: bool,
}

/// Options of a git source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GitOpts {
    /// Branch, tag or commit. Empty: the remote's default branch.
    pub git_ref: String,
    /// Sub-directory of the checkout to use as the result.
    pub subdir: String,
    pub keep_git_dir: bool,
    /// Secret IDs for HTTP auth; defaults `GIT_AUTH_TOKEN` / `GIT_AUTH_HEADER`.
    pub auth_token_secret: Option<String>,
    pub auth_header_secret: Option<String>,
    /// known_hosts text for ssh remotes.
    pub known_ssh_hosts: Option<String>,
    /// SSH forwarding ID for ssh remotes (default `default`).
    pub mount_ssh_sock: Option<String>,
    /// `git.checksum`: expected commit.
    pub checksum: Option<String>,
    pub skip_submodules: bool,
}

/// Options of an http(s) source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpOpts {
    /// `http.checksum`: a digest the download must match.
    pub checksum: Option<String>,
    /// `http.filename`: name of the single output file.
    pub filename: Option<String>,
    /// File mode (default 0600 on the server).
    pub perm: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

const DEFAULT_TOKEN_SECRET: &str = "GIT_AUTH_TOKEN";
const DEFAULT_HEADER_SECRET: &str = "GIT_AUTH_HEADER";

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).expect("string list serializes")
}

fn put(attrs: &mut BTreeMap<String, String>, k: &str, v: Option<String>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        attrs.insert(k.to_string(), v);
    }
}

impl Graph {
    /// `docker-image://<normalized_ref>`. Pass a ref already normalized with
    /// [`crate::normalize_image_ref`] (the server needs the full form).
    pub fn image(
        &mut self,
        normalized_ref: &str,
        platform: Option<pb::Platform>,
        attrs: ImageAttrs,
        meta: OpMeta,
    ) -> Output {
        let mut a = BTreeMap::new();
        put(&mut a, "image.resolvemode", attrs.resolve_mode);
        put(&mut a, "image.recordtype", attrs.record_type);
        put(
            &mut a,
            "image.layerlimit",
            attrs.layer_limit.map(|n| n.to_string()),
        );
        put(&mut a, "image.checksum", attrs.checksum);
        self.source(
            format!("docker-image://{normalized_ref}"),
            a,
            platform,
            meta,
            BTreeSet::new(),
        )
    }

    /// `local://<name>`.
    pub fn local(&mut self, name: &str, opts: LocalOpts, meta: OpMeta) -> Output {
        let mut a = BTreeMap::new();
        put(&mut a, "local.session", opts.session_id);
        if !opts.include_patterns.is_empty() {
            a.insert(
                "local.includepattern".into(),
                json_list(&opts.include_patterns),
            );
        }
        if !opts.exclude_patterns.is_empty() {
            a.insert(
                "local.excludepatterns".into(),
                json_list(&opts.exclude_patterns),
            );
        }
        if !opts.follow_paths.is_empty() {
            a.insert("local.followpaths".into(), json_list(&opts.follow_paths));
        }
        put(&mut a, "local.sharedkeyhint", opts.shared_key_hint);
        put(&mut a, "local.unique", opts.unique);
        let mut extra = BTreeSet::new();
        if opts.differ.as_deref().is_some_and(|d| !d.is_empty()) && opts.differ_required {
            extra.insert("source.local.differ");
        }
        put(&mut a, "local.differ", opts.differ);
        self.source(format!("local://{name}"), a, None, meta, extra)
    }

    /// A git repository. `remote` is the fetch URL as the user wrote it
    /// (https, ssh `git@host:path`, `ssh://`, `git://`); it goes to
    /// `git.fullurl`, and the identifier is `git://<host><path>[#ref[:subdir]]`.
    pub fn git(&mut self, remote: &str, opts: GitOpts, meta: OpMeta) -> Output {
        let (host_path, is_ssh) = git_host_path(remote);
        let mut id = format!("git://{host_path}");
        if !opts.git_ref.is_empty() || !opts.subdir.is_empty() {
            id.push('#');
            id.push_str(&opts.git_ref);
            if !opts.subdir.is_empty() {
                id.push(':');
                id.push_str(&opts.subdir);
            }
        }
        let mut a = BTreeMap::new();
        put(&mut a, "git.fullurl", Some(remote.to_string()));
        if opts.keep_git_dir {
            a.insert("git.keepgitdir".into(), "true".into());
        }
        put(
            &mut a,
            "git.authtokensecret",
            Some(
                opts.auth_token_secret
                    .unwrap_or_else(|| DEFAULT_TOKEN_SECRET.into()),
            ),
        );
        put(
            &mut a,
            "git.authheadersecret",
            Some(
                opts.auth_header_secret
                    .unwrap_or_else(|| DEFAULT_HEADER_SECRET.into()),
            ),
        );
        if is_ssh {
            put(&mut a, "git.knownsshhosts", opts.known_ssh_hosts);
            put(
                &mut a,
                "git.mountsshsock",
                Some(opts.mount_ssh_sock.unwrap_or_else(|| "default".into())),
            );
        }
        put(&mut a, "git.checksum", opts.checksum);
        if opts.skip_submodules {
            a.insert("git.skipsubmodules".into(), "true".into());
        }
        self.source(id, a, None, meta, BTreeSet::new())
    }

    /// An http(s) download: a single file at `/<filename>`.
    pub fn http(&mut self, url: &str, opts: HttpOpts, meta: OpMeta) -> Output {
        let mut a = BTreeMap::new();
        put(&mut a, "http.checksum", opts.checksum);
        put(&mut a, "http.filename", opts.filename);
        put(
            &mut a,
            "http.perm",
            opts.perm.filter(|p| *p != 0).map(|p| format!("0{p:o}")),
        );
        put(
            &mut a,
            "http.uid",
            opts.uid.filter(|u| *u != 0).map(|u| u.to_string()),
        );
        put(
            &mut a,
            "http.gid",
            opts.gid.filter(|g| *g != 0).map(|g| g.to_string()),
        );
        self.source(url.to_string(), a, None, meta, BTreeSet::new())
    }

    /// Any other source identifier with raw attrs (empty values are dropped).
    pub fn raw_source(
        &mut self,
        identifier: &str,
        attrs: BTreeMap<String, String>,
        platform: Option<pb::Platform>,
        meta: OpMeta,
    ) -> Output {
        let attrs = attrs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        self.source(
            identifier.to_string(),
            attrs,
            platform,
            meta,
            BTreeSet::new(),
        )
    }

    fn source(
        &mut self,
        identifier: String,
        attrs: BTreeMap<String, String>,
        platform: Option<pb::Platform>,
        meta: OpMeta,
        extra: BTreeSet<&'static str>,
    ) -> Output {
        let kind = NodeKind::Source(pb::SourceOp { identifier, attrs }, platform);
        Output {
            node: self.push_with_caps(kind, meta, extra),
            index: 0,
        }
    }
}

/// `host/path` of a git remote (user info and scheme dropped, scp-style
/// `host:path` turned into `host/path`), and whether it is an ssh remote.
fn git_host_path(remote: &str) -> (String, bool) {
    let remote = remote.split('#').next().unwrap_or(remote);
    if let Some((scheme, rest)) = remote.split_once("://") {
        let (auth, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
        let ssh = scheme == "ssh" || scheme == "git+ssh";
        return (format!("{host}{}", clean_abs(path)), ssh);
    }
    if let Some((user_host, path)) = remote.split_once(':') {
        if let Some((_, host)) = user_host.rsplit_once('@') {
            if !user_host.contains('/') {
                return (format!("{host}{}", clean_abs(path)), true);
            }
        }
    }
    let (host, path) = remote.split_once('/').unwrap_or((remote, ""));
    (format!("{host}{}", clean_abs(path)), false)
}

/// `path.Join("/", p)` for a URL path, without the trailing slash.
fn clean_abs(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("/{}", parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::git_host_path;

    #[test]
    fn git_remotes() {
        assert_eq!(
            git_host_path("https://github.com/moby/buildkit.git"),
            ("github.com/moby/buildkit.git".into(), false)
        );
        assert_eq!(
            git_host_path("git@github.com:moby/buildkit.git"),
            ("github.com/moby/buildkit.git".into(), true)
        );
        assert_eq!(
            git_host_path("ssh://git@example.com:2222/a/b/"),
            ("example.com:2222/a/b".into(), true)
        );
        assert_eq!(
            git_host_path("https://user:pw@example.com/x"),
            ("example.com/x".into(), false)
        );
    }
}
