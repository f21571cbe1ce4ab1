//! What BuildKit gives the frontend process: `BUILDKIT_FRONTEND_OPT_<n>`
//! (random order, `KEY=VALUE` split at the first `=`), `BUILDKIT_SESSION_ID`
//! and `BUILDKIT_WORKERS`, parsed into [`FrontendOptions`]. Everything is
//! kept in sorted maps: option order must never change the LLB.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use slipway_compiler::NoCache;
use slipway_proto::gateway::CacheOptionsEntry;
use slipway_spec::Platform;

pub const OPT_PREFIX: &str = "BUILDKIT_FRONTEND_OPT_";
pub const DEFAULT_FILENAME: &str = "slipway.yaml";

/// A worker as described by `BUILDKIT_WORKERS` or Ping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Worker {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub platforms: Vec<Platform>,
}

/// A `context:NAME=VALUE` option, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContextRef {
    /// `docker-image://REF`
    Image(String),
    /// `local:NAME`
    Local(String),
    /// `input:NAME` (a frontend input, fetched with the Inputs RPC)
    Input(String),
    /// git or http(s) URL
    Url(String),
    /// `oci-layout://STORE[:TAG]@DIGEST` (resolved by `ocilayout.rs`).
    OciLayout(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrontendOptions {
    /// Every option as received, sorted.
    pub raw: BTreeMap<String, String>,
    /// `filename`: the spec's path inside the `dockerfile` local.
    pub filename: String,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// `platform`: the (first) target platform (None: the build platform).
    pub platform: Option<Platform>,
    /// `platform=a,b,…`: every target platform, in the order given, without
    /// duplicates (empty: none given).
    pub platforms: Vec<Platform>,
    /// One result per platform (`refs` + `refs.platforms`) even for a single
    /// platform: `multi-platform=true` or `build-arg:BUILDKIT_MULTI_PLATFORM=1`,
    /// implied by several platforms.
    pub multi_platform: bool,
    /// Do not send spec warnings (the other platforms of a multi-platform
    /// build: the first one sends them).
    pub quiet: bool,
    pub no_cache: NoCache,
    /// `image-resolve-mode`: `default`, `pull` or `local`.
    pub image_resolve_mode: Option<String>,
    /// From `cache-imports` (JSON) and `cache-from` (comma list), sorted, deduplicated.
    pub cache_imports: Vec<CacheOptionsEntry>,
    /// `context:NAME` (platform-specific `context:NAME::PLATFORM` already
    /// applied for the target platform).
    pub named_contexts: BTreeMap<String, NamedContextRef>,
    /// `add-hosts`: (host, ip), sorted.
    pub add_hosts: Vec<(String, String)>,
    /// `force-network-mode`: `none`, `host` or `sandbox`.
    pub force_network_mode: Option<String>,
    /// `build-arg:BUILDKIT_CACHE_MOUNT_NS`.
    pub cache_mount_ns: Option<String>,
    /// `context=URL`: the main context (and the spec) from a git repository
    /// or an HTTP(S) tarball.
    pub remote_context: Option<String>,
    /// `dockerfilekey`: the spec comes from this local even with a remote context.
    pub dockerfile_key: Option<String>,
    /// `requestid`: a subrequest instead of a build.
    pub request_id: Option<String>,
    /// `BUILDKIT_SESSION_ID`.
    pub session_id: Option<String>,
    /// `BUILDKIT_WORKERS`.
    pub workers: Vec<Worker>,
}

/// An option the frontend cannot use; the message says which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);

/// The raw options from an environment (any iterator of `(name, value)`),
/// split at the first `=`, sorted by key. Later duplicates win.
pub fn raw_options<I, K, V>(env: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut items: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.as_ref().starts_with(OPT_PREFIX))
        .map(|(_, v)| {
            let v = v.as_ref();
            match v.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (v.to_string(), String::new()),
            }
        })
        .collect();
    // Deterministic even with duplicate keys in random order.
    items.sort();
    items.into_iter().collect()
}

impl FrontendOptions {
    /// Parse from process environment variables.
    pub fn from_env<I, K, V>(env: I) -> Result<Self, OptionError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let env: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();
        let raw = raw_options(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let session_id = get("BUILDKIT_SESSION_ID").filter(|s| !s.is_empty());
        let workers = match get("BUILDKIT_WORKERS") {
            Some(w) if !w.trim().is_empty() => parse_workers(&w)?,
            _ => Vec::new(),
        };
        let mut o = Self::from_raw(raw)?;
        o.session_id = session_id;
        o.workers = workers;
        Ok(o)
    }

    /// Parse from the `KEY -> VALUE` option map.
    pub fn from_raw(raw: BTreeMap<String, String>) -> Result<Self, OptionError> {
        let mut o = FrontendOptions {
            filename: DEFAULT_FILENAME.to_string(),
            ..Default::default()
        };
        let mut cache_imports: BTreeSet<(String, Vec<(String, String)>)> = BTreeSet::new();
        let mut generic_ctx: BTreeMap<String, String> = BTreeMap::new();
        let mut platform_ctx: BTreeMap<(String, String), String> = BTreeMap::new();
        for (k, v) in &raw {
            let v = v.as_str();
            if let Some(name) = k.strip_prefix("build-arg:") {
                o.build_args.insert(name.to_string(), v.to_string());
                continue;
            }
            if let Some(name) = k.strip_prefix("label:") {
                o.labels.insert(name.to_string(), v.to_string());
                continue;
            }
            if let Some(name) = k.strip_prefix("context:") {
                match name.split_once("::") {
                    Some((n, p)) => {
                        let p = slipway_spec::parse_platform(p)
                            .map_err(|e| OptionError(format!("option `{k}`: {e}")))?;
                        platform_ctx.insert((n.to_string(), p.to_string()), v.to_string());
                    }
                    None => {
                        generic_ctx.insert(name.to_string(), v.to_string());
                    }
                }
                continue;
            }
            match k.as_str() {
                "filename" if !v.is_empty() => o.filename = v.to_string(),
                "target" if !v.is_empty() => o.target = Some(v.to_string()),
                "platform" => {
                    for one in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let p = slipway_spec::parse_platform(one)
                            .map_err(|e| OptionError(format!("option `platform={v}`: {e}")))?;
                        if !o.platforms.contains(&p) {
                            o.platforms.push(p);
                        }
                    }
                    o.platform = o.platforms.first().cloned();
                }
                "multi-platform" => o.multi_platform |= truthy(v),
                "no-cache" => {
                    let stages: BTreeSet<String> = v
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect();
                    o.no_cache = if stages.is_empty() {
                        NoCache::All
                    } else {
                        NoCache::Stages(stages)
                    };
                }
                "image-resolve-mode" => match v {
                    "" => {}
                    "default" | "pull" | "local" => o.image_resolve_mode = Some(v.to_string()),
                    other => {
                        return Err(OptionError(format!(
                            "option `image-resolve-mode={other}` is not valid: use `default`, \
                             `pull` or `local`"
                        )))
                    }
                },
                "cache-imports" if !v.trim().is_empty() => {
                    for e in parse_cache_imports(v)? {
                        cache_imports.insert((e.r#type, e.attrs.into_iter().collect()));
                    }
                }
                "cache-from" => {
                    for r in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        cache_imports
                            .insert(("registry".into(), vec![("ref".to_string(), r.to_string())]));
                    }
                }
                "add-hosts" => {
                    for h in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let (host, ip) = h
                            .split_once('=')
                            .or_else(|| h.split_once(':'))
                            .ok_or_else(|| {
                                OptionError(format!("option `add-hosts`: `{h}` is not `host=ip`"))
                            })?;
                        o.add_hosts
                            .push((host.trim().to_string(), ip.trim().to_string()));
                    }
                }
                "force-network-mode" => match v {
                    "" => {}
                    "none" | "host" | "sandbox" => o.force_network_mode = Some(v.to_string()),
                    other => {
                        return Err(OptionError(format!(
                            "option `force-network-mode={other}` is not valid: use `none`, \
                             `host` or `sandbox`"
                        )))
                    }
                },
                "requestid" if !v.is_empty() => o.request_id = Some(v.to_string()),
                "context" if crate::remote::is_remote(v.trim()) => {
                    o.remote_context = Some(v.trim().to_string())
                }
                "dockerfilekey" if !v.is_empty() => o.dockerfile_key = Some(v.to_string()),
                _ => {}
            }
        }
        o.add_hosts.sort();
        o.add_hosts.dedup();
        o.multi_platform |= o.platforms.len() > 1
            || o.build_args
                .get("BUILDKIT_MULTI_PLATFORM")
                .is_some_and(|v| truthy(v));
        o.cache_mount_ns = o
            .build_args
            .get("BUILDKIT_CACHE_MOUNT_NS")
            .filter(|s| !s.is_empty())
            .cloned();
        o.cache_imports = cache_imports
            .into_iter()
            .map(|(t, a)| CacheOptionsEntry {
                r#type: t,
                attrs: a.into_iter().collect(),
            })
            .collect();
        // Named contexts: a platform-specific entry wins for its platform.
        let target_platform = o.platform.as_ref().map(|p| p.to_string());
        let mut ctx = generic_ctx;
        if let Some(tp) = &target_platform {
            for ((n, p), v) in &platform_ctx {
                if p == tp {
                    ctx.insert(n.clone(), v.clone());
                }
            }
        }
        for (name, v) in ctx {
            o.named_contexts
                .insert(name.clone(), parse_named_context(&name, &v)?);
        }
        o.raw = raw;
        Ok(o)
    }

    /// Platform-specific named contexts are matched against the target
    /// platform, which may only be known after Ping (the worker's platform).
    /// Re-apply them for `platform`.
    pub fn apply_platform_contexts(&mut self, platform: &Platform) -> Result<(), OptionError> {
        let want = platform.to_string();
        for (k, v) in &self.raw {
            if let Some(rest) = k.strip_prefix("context:") {
                if let Some((n, p)) = rest.split_once("::") {
                    let p = slipway_spec::parse_platform(p)
                        .map_err(|e| OptionError(format!("option `{k}`: {e}")))?;
                    if p.to_string() == want {
                        self.named_contexts
                            .insert(n.to_string(), parse_named_context(n, v)?);
                    }
                }
            }
        }
        Ok(())
    }

    /// The options of one platform of a multi-platform build: `platform=P`
    /// (so platform-specific named contexts are P's), a single result.
    pub fn for_platform(&self, p: &Platform, quiet: bool) -> Result<Self, OptionError> {
        let mut raw = self.raw.clone();
        raw.insert("platform".into(), p.to_string());
        raw.remove("multi-platform");
        let mut o = Self::from_raw(raw)?;
        o.multi_platform = false;
        o.quiet = quiet;
        o.session_id = self.session_id.clone();
        o.workers = self.workers.clone();
        Ok(o)
    }
}

/// Go's strconv.ParseBool for the true side (BuildKit reads these flags so).
fn truthy(v: &str) -> bool {
    matches!(v.trim(), "1" | "t" | "T" | "true" | "TRUE" | "True")
}

fn parse_named_context(name: &str, v: &str) -> Result<NamedContextRef, OptionError> {
    let v = v.trim();
    if let Some(r) = v.strip_prefix("docker-image://") {
        if r.is_empty() {
            return Err(OptionError(format!(
                "named context `{name}`: empty image reference"
            )));
        }
        return Ok(NamedContextRef::Image(r.to_string()));
    }
    if let Some(r) = v.strip_prefix("local:") {
        return Ok(NamedContextRef::Local(r.to_string()));
    }
    if let Some(r) = v.strip_prefix("input:") {
        return Ok(NamedContextRef::Input(r.to_string()));
    }
    if v.starts_with("oci-layout://") {
        return Ok(NamedContextRef::OciLayout(v.to_string()));
    }
    let is_url = [
        "git://",
        "git@",
        "http://",
        "https://",
        "ssh://",
        "github.com/",
    ]
    .iter()
    .any(|p| v.starts_with(p));
    if is_url {
        return Ok(NamedContextRef::Url(v.to_string()));
    }
    Err(OptionError(format!(
        "named context `{name}={v}` is not understood: use `docker-image://REF`, `local:NAME`, \
         `input:NAME`, a git URL or an http(s) URL"
    )))
}

/// `cache-imports`: JSON `[{"Type":"registry","Attrs":{"ref":"R"}}]`
/// (lower-case keys accepted too).
pub fn parse_cache_imports(v: &str) -> Result<Vec<CacheOptionsEntry>, OptionError> {
    let bad = |why: String| OptionError(format!("option `cache-imports` is not valid: {why}"));
    let json: Value = serde_json::from_str(v).map_err(|e| bad(e.to_string()))?;
    let arr = json
        .as_array()
        .ok_or_else(|| bad("expected a JSON array".into()))?;
    let mut out = Vec::new();
    for e in arr {
        let ty = get_ci(e, "type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if ty.is_empty() {
            return Err(bad(format!("entry {e} has no Type")));
        }
        let mut attrs = BTreeMap::new();
        if let Some(a) = get_ci(e, "attrs").and_then(Value::as_object) {
            for (k, v) in a {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                attrs.insert(k.clone(), v);
            }
        }
        out.push(CacheOptionsEntry { r#type: ty, attrs });
    }
    Ok(out)
}

/// Case-insensitive object lookup (Go's encoding/json matches keys that way;
/// BuildKit v0.8 writes `ID`/`Platforms`, v0.24 `id`/`platforms`).
pub(crate) fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// `BUILDKIT_WORKERS` in either spelling.
pub fn parse_workers(s: &str) -> Result<Vec<Worker>, OptionError> {
    let json: Value = serde_json::from_str(s)
        .map_err(|e| OptionError(format!("BUILDKIT_WORKERS is not valid JSON: {e}")))?;
    let mut out = Vec::new();
    for w in json.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let id = get_ci(w, "id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut labels = BTreeMap::new();
        if let Some(l) = get_ci(w, "labels").and_then(Value::as_object) {
            for (k, v) in l {
                labels.insert(k.clone(), v.as_str().unwrap_or("").to_string());
            }
        }
        let mut platforms = Vec::new();
        for p in get_ci(w, "platforms")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let os = get_ci(p, "os").and_then(Value::as_str).unwrap_or("");
            let arch = get_ci(p, "architecture")
                .and_then(Value::as_str)
                .unwrap_or("");
            let variant = get_ci(p, "variant").and_then(Value::as_str).unwrap_or("");
            if let Some(p) = platform_from_parts(os, arch, variant) {
                platforms.push(p);
            }
        }
        out.push(Worker {
            id,
            labels,
            platforms,
        });
    }
    Ok(out)
}

/// Normalized platform from OCI fields; None if os or arch is missing/invalid.
pub fn platform_from_parts(os: &str, arch: &str, variant: &str) -> Option<Platform> {
    if os.is_empty() || arch.is_empty() {
        return None;
    }
    let s = if variant.is_empty() {
        format!("{os}/{arch}")
    } else {
        format!("{os}/{arch}/{variant}")
    };
    slipway_spec::parse_platform(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[&str]) -> Vec<(String, String)> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{OPT_PREFIX}{i}"), v.to_string()))
            .collect()
    }

    const DOCKER: &[&str] = &[
        "source=slipway:dev",
        "cmdline=slipway:dev",
        "filename=spec.yaml",
        "target=x",
        "build-arg:A=1=2",
        "build-arg:EMPTY=",
        "label:l=v",
        "cache-from=reg/b:cache,reg/a:cache",
        "add-hosts=h=1.2.3.4,a=::1",
        "image-resolve-mode=pull",
        "no-cache=",
        "force-network-mode=host",
        "build-arg:BUILDKIT_CACHE_MOUNT_NS=ns1",
        "context:alpine=docker-image://alpine:3.20",
        "context:src=local:srcdir",
        "context:gen=input:gen",
        "context:repo=https://github.com/a/b.git#main",
        "cache-imports=[{\"Type\":\"registry\",\"Attrs\":{\"ref\":\"reg/c\"}}]",
    ];

    #[test]
    fn parses_docker_options() {
        let o = FrontendOptions::from_env(env(DOCKER)).unwrap();
        assert_eq!(o.filename, "spec.yaml");
        assert_eq!(o.target.as_deref(), Some("x"));
        assert_eq!(o.build_args["A"], "1=2");
        assert_eq!(o.build_args["EMPTY"], "");
        assert_eq!(o.labels["l"], "v");
        assert_eq!(o.no_cache, NoCache::All);
        assert_eq!(o.image_resolve_mode.as_deref(), Some("pull"));
        assert_eq!(o.force_network_mode.as_deref(), Some("host"));
        assert_eq!(o.cache_mount_ns.as_deref(), Some("ns1"));
        assert_eq!(
            o.add_hosts,
            vec![("a".into(), "::1".into()), ("h".into(), "1.2.3.4".into())]
        );
        let refs: Vec<&str> = o
            .cache_imports
            .iter()
            .map(|c| c.attrs["ref"].as_str())
            .collect();
        assert_eq!(refs, ["reg/a:cache", "reg/b:cache", "reg/c"]);
        assert_eq!(
            o.named_contexts["alpine"],
            NamedContextRef::Image("alpine:3.20".into())
        );
        assert_eq!(
            o.named_contexts["src"],
            NamedContextRef::Local("srcdir".into())
        );
        assert_eq!(
            o.named_contexts["gen"],
            NamedContextRef::Input("gen".into())
        );
        assert!(matches!(o.named_contexts["repo"], NamedContextRef::Url(_)));
        assert_eq!(o.raw["source"], "slipway:dev");
    }

    #[test]
    fn order_does_not_matter() {
        let base = FrontendOptions::from_env(env(DOCKER)).unwrap();
        // A few deterministic shuffles (rotations and reversal).
        for shift in 1..DOCKER.len() {
            let mut v: Vec<&str> = DOCKER.to_vec();
            v.rotate_left(shift);
            if shift % 2 == 0 {
                v.reverse();
            }
            let o = FrontendOptions::from_env(env(&v)).unwrap();
            assert_eq!(o, base, "shift {shift}");
        }
        let keys: Vec<&String> = base.raw.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn defaults_and_no_cache_stages() {
        let o = FrontendOptions::from_env(env(&["no-cache=b, a"])).unwrap();
        assert_eq!(o.filename, DEFAULT_FILENAME);
        assert_eq!(o.target, None);
        assert_eq!(
            o.no_cache,
            NoCache::Stages(["a".to_string(), "b".to_string()].into_iter().collect())
        );
        let o = FrontendOptions::from_env(env(&["cache-from=", "add-hosts="])).unwrap();
        assert!(o.cache_imports.is_empty() && o.add_hosts.is_empty());
        assert_eq!(o.no_cache, NoCache::Off);
    }

    #[test]
    fn platforms() {
        let o = FrontendOptions::from_env(env(&["platform=linux/aarch64"])).unwrap();
        assert_eq!(o.platform.unwrap().to_string(), "linux/arm64");
        assert!(
            !FrontendOptions::from_env(env(&["platform=linux/arm64"]))
                .unwrap()
                .multi_platform
        );
        let o =
            FrontendOptions::from_env(env(&["platform=linux/arm64, linux/amd64,aarch64"])).unwrap();
        let got: Vec<String> = o.platforms.iter().map(|p| p.to_string()).collect();
        assert_eq!(got, ["linux/arm64", "linux/amd64"]);
        assert!(o.multi_platform);
        assert_eq!(o.platform.as_ref().unwrap().to_string(), "linux/arm64");
        for opt in ["multi-platform=true", "build-arg:BUILDKIT_MULTI_PLATFORM=1"] {
            let o = FrontendOptions::from_env(env(&[opt, "platform=linux/amd64"])).unwrap();
            assert!(o.multi_platform, "{opt}");
        }
        let o = FrontendOptions::from_env(env(&["multi-platform=false"])).unwrap();
        assert!(!o.multi_platform);
        let e = FrontendOptions::from_env(env(&["platform=plan10/x"])).unwrap_err();
        assert!(e.0.contains("platform"), "{e}");
    }

    #[test]
    fn platform_specific_context_wins() {
        let o = FrontendOptions::from_env(env(&[
            "platform=linux/arm64",
            "context:base=docker-image://a",
            "context:base::linux/arm64=docker-image://b",
            "context:base::linux/amd64=docker-image://c",
        ]))
        .unwrap();
        assert_eq!(o.named_contexts["base"], NamedContextRef::Image("b".into()));
    }

    #[test]
    fn each_platform_gets_its_own_contexts() {
        let mut o = FrontendOptions::from_env(env(&[
            "platform=linux/arm64,linux/amd64",
            "context:base=docker-image://a",
            "context:base::linux/arm64=docker-image://b",
        ]))
        .unwrap();
        o.session_id = Some("s".into());
        let arm = o.for_platform(&slipway_spec::parse_platform("linux/arm64").unwrap(), false);
        let arm = arm.unwrap();
        assert_eq!(
            arm.named_contexts["base"],
            NamedContextRef::Image("b".into())
        );
        assert!(!arm.multi_platform && !arm.quiet);
        assert_eq!(arm.session_id.as_deref(), Some("s"));
        let amd = o
            .for_platform(&slipway_spec::parse_platform("linux/amd64").unwrap(), true)
            .unwrap();
        assert_eq!(
            amd.named_contexts["base"],
            NamedContextRef::Image("a".into())
        );
        assert_eq!(amd.platform.unwrap().to_string(), "linux/amd64");
        assert!(amd.quiet);
    }

    #[test]
    fn invalid_options_are_clear() {
        for (opt, needle) in [
            ("image-resolve-mode=sometimes", "image-resolve-mode"),
            ("force-network-mode=bridge", "force-network-mode"),
            ("cache-imports=nope", "cache-imports"),
            ("context:x=ftp://a", "named context `x"),
            ("add-hosts=justahost", "add-hosts"),
        ] {
            let e = FrontendOptions::from_env(env(&[opt])).unwrap_err();
            assert!(e.0.contains(needle), "{opt}: {e}");
        }
    }

    #[test]
    fn workers_both_spellings() {
        let old = r#"[{"ID":"w1","Labels":{"a":"b"},"Platforms":[{"architecture":"arm64","os":"linux","variant":"v8"},{"architecture":"amd64","os":"linux"}],"GCPolicy":null}]"#;
        let new = r#"[{"id":"w1","labels":{"a":"b"},"platforms":[{"architecture":"arm64","os":"linux"},{"architecture":"amd64","os":"linux"}],"gcPolicy":[],"buildkitVersion":{"package":"p","version":"v0.24.0","revision":"r"}}]"#;
        let a = parse_workers(old).unwrap();
        let b = parse_workers(new).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].platforms[0].to_string(), "linux/arm64");
        let o = FrontendOptions::from_env(vec![
            ("BUILDKIT_WORKERS".to_string(), old.to_string()),
            ("BUILDKIT_SESSION_ID".to_string(), "sess".to_string()),
        ])
        .unwrap();
        assert_eq!(o.workers.len(), 1);
        assert_eq!(o.session_id.as_deref(), Some("sess"));
    }
}
