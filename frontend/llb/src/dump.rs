//! A readable, deterministic JSON view of a Definition, in the spirit of
//! `buildctl debug dump-llb`: for `slipway compile --format json` and insta
//! snapshots. Field names follow the proto; enums are shown by name; index
//! fields that may be -1 are always shown; other zero values are left out.

use prost::Message;
use serde_json::{json, Map, Value};

use crate::pb;

#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn s(mut self, k: &str, v: &str) -> Self {
        if !v.is_empty() {
            self.0.insert(k.into(), Value::from(v));
        }
        self
    }
    fn b(mut self, k: &str, v: bool) -> Self {
        if v {
            self.0.insert(k.into(), Value::from(true));
        }
        self
    }
    fn i(mut self, k: &str, v: i64) -> Self {
        if v != 0 {
            self.0.insert(k.into(), Value::from(v));
        }
        self
    }
    fn always(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.0.insert(k.into(), v.into());
        self
    }
    fn list(mut self, k: &str, v: Vec<Value>) -> Self {
        if !v.is_empty() {
            self.0.insert(k.into(), Value::Array(v));
        }
        self
    }
    fn strs(self, k: &str, v: &[String]) -> Self {
        self.list(k, v.iter().map(|s| Value::from(s.as_str())).collect())
    }
    fn opt(mut self, k: &str, v: Option<Value>) -> Self {
        if let Some(v) = v {
            self.0.insert(k.into(), v);
        }
        self
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn enum_name<E: std::fmt::Debug>(v: i32, f: impl Fn(i32) -> Option<E>) -> Value {
    match f(v) {
        Some(e) => Value::from(format!("{e:?}").to_uppercase()),
        None => Value::from(v),
    }
}

/// `[{digest, op, metadata?, source_ranges?}, …]` in `def` order. Entries
/// that do not decode are shown as `{digest, error}`.
pub fn dump_json(def: &pb::Definition) -> Value {
    let entries = def
        .def
        .iter()
        .map(|bytes| {
            let d = crate::digest(bytes);
            let mut o = Obj::default().always("digest", d.as_str());
            o = match pb::Op::decode(bytes.as_slice()) {
                Ok(op) => o.always("op", op_json(&op)),
                Err(e) => o.always("error", e.to_string()),
            };
            o = o.opt("metadata", def.metadata.get(&d).map(metadata_json));
            if let Some(src) = &def.source {
                if let Some(l) = src.locations.get(&d) {
                    let v = l
                        .locations
                        .iter()
                        .flat_map(|loc| {
                            let file = src
                                .infos
                                .get(loc.source_index as usize)
                                .map(|i| i.filename.clone())
                                .unwrap_or_default();
                            loc.ranges.iter().map(move |r| {
                                let p = |p: &Option<pb::Position>| {
                                    let p = p.clone().unwrap_or_default();
                                    json!([p.line, p.character])
                                };
                                json!({"file": file, "start": p(&r.start), "end": p(&r.end)})
                            })
                        })
                        .collect();
                    o = o.list("source_ranges", v);
                }
            }
            o.done()
        })
        .collect();
    Value::Array(entries)
}

fn metadata_json(m: &pb::OpMetadata) -> Value {
    Obj::default()
        .b("ignore_cache", m.ignore_cache)
        .opt(
            "description",
            (!m.description.is_empty()).then(|| json!(m.description)),
        )
        .opt(
            "export_cache",
            m.export_cache.as_ref().map(|e| Value::from(e.value)),
        )
        .list(
            "caps",
            m.caps.keys().map(|k| Value::from(k.as_str())).collect(),
        )
        .opt(
            "progress_group",
            m.progress_group.as_ref().map(|p| {
                Obj::default()
                    .s("id", &p.id)
                    .s("name", &p.name)
                    .b("weak", p.weak)
                    .done()
            }),
        )
        .done()
}

fn platform_json(p: &pb::Platform) -> Value {
    Obj::default()
        .s("os", &p.os)
        .s("architecture", &p.architecture)
        .s("variant", &p.variant)
        .s("os_version", &p.os_version)
        .strs("os_features", &p.os_features)
        .done()
}

fn op_json(op: &pb::Op) -> Value {
    let inputs = op
        .inputs
        .iter()
        .map(|i| json!({"digest": i.digest, "index": i.index}))
        .collect();
    let mut o = Obj::default().list("inputs", inputs);
    o = o.opt("platform", op.platform.as_ref().map(platform_json));
    o = o.opt(
        "constraints",
        op.constraints
            .as_ref()
            .map(|c| Obj::default().strs("filter", &c.filter).done()),
    );
    match &op.op {
        Some(pb::op::Op::Exec(e)) => o.always("exec", exec_json(e)),
        Some(pb::op::Op::Source(s)) => o.always(
            "source",
            Obj::default()
                .s("identifier", &s.identifier)
                .opt("attrs", (!s.attrs.is_empty()).then(|| json!(s.attrs)))
                .done(),
        ),
        Some(pb::op::Op::File(f)) => o.always(
            "file",
            json!({"actions": f.actions.iter().map(action_json).collect::<Vec<_>>()}),
        ),
        Some(pb::op::Op::Merge(m)) => o.always(
            "merge",
            json!({"inputs": m.inputs.iter().map(|i| i.input).collect::<Vec<_>>()}),
        ),
        Some(pb::op::Op::Diff(d)) => o.always(
            "diff",
            json!({
                "lower": d.lower.as_ref().map(|l| l.input),
                "upper": d.upper.as_ref().map(|u| u.input),
            }),
        ),
        Some(pb::op::Op::Build(b)) => o.always("build", json!({"builder": b.builder})),
        None => o,
    }
    .done()
}

fn exec_json(e: &pb::ExecOp) -> Value {
    let meta = e.meta.clone().unwrap_or_default();
    let meta_v = Obj::default()
        .strs("args", &meta.args)
        .strs("env", &meta.env)
        .s("cwd", &meta.cwd)
        .s("user", &meta.user)
        .s("hostname", &meta.hostname)
        .list(
            "extra_hosts",
            meta.extra_hosts
                .iter()
                .map(|h| json!({"host": h.host, "ip": h.ip}))
                .collect(),
        )
        .list(
            "ulimit",
            meta.ulimit
                .iter()
                .map(|u| json!({"name": u.name, "soft": u.soft, "hard": u.hard}))
                .collect(),
        )
        .opt(
            "proxy_env",
            meta.proxy_env.as_ref().map(|p| {
                Obj::default()
                    .s("http_proxy", &p.http_proxy)
                    .s("https_proxy", &p.https_proxy)
                    .s("ftp_proxy", &p.ftp_proxy)
                    .s("no_proxy", &p.no_proxy)
                    .s("all_proxy", &p.all_proxy)
                    .done()
            }),
        )
        .s("cgroup_parent", &meta.cgroup_parent)
        .b(
            "remove_mount_stubs_recursive",
            meta.remove_mount_stubs_recursive,
        )
        .list(
            "valid_exit_codes",
            meta.valid_exit_codes
                .iter()
                .map(|c| Value::from(*c))
                .collect(),
        )
        .done();
    let mounts = e
        .mounts
        .iter()
        .map(|m| {
            let secret_like = |id: &str, uid: u32, gid: u32, mode: u32, optional: bool| {
                Obj::default()
                    .s("id", id)
                    .i("uid", uid.into())
                    .i("gid", gid.into())
                    .always("mode", format!("0{mode:o}"))
                    .b("optional", optional)
                    .done()
            };
            Obj::default()
                .always("dest", m.dest.as_str())
                .always("type", enum_name(m.mount_type, |v| pb::MountType::try_from(v).ok()))
                .always("input", m.input)
                .always("output", m.output)
                .s("selector", &m.selector)
                .b("readonly", m.readonly)
                .opt(
                    "cache",
                    m.cache_opt.as_ref().map(|c| {
                        json!({"id": c.id, "sharing": enum_name(c.sharing, |v| pb::CacheSharingOpt::try_from(v).ok())})
                    }),
                )
                .opt("tmpfs", m.tmpfs_opt.as_ref().map(|t| json!({"size": t.size})))
                .opt(
                    "secret",
                    m.secret_opt.as_ref().map(|s| secret_like(&s.id, s.uid, s.gid, s.mode, s.optional)),
                )
                .opt("ssh", m.ssh_opt.as_ref().map(|s| secret_like(&s.id, s.uid, s.gid, s.mode, s.optional)))
                .s("result_id", &m.result_id)
                .opt(
                    "content_cache",
                    (m.content_cache != 0)
                        .then(|| enum_name(m.content_cache, |v| pb::MountContentCache::try_from(v).ok())),
                )
                .done()
        })
        .collect();
    Obj::default()
        .always("meta", meta_v)
        .list("mounts", mounts)
        .always(
            "network",
            enum_name(e.network, |v| pb::NetMode::try_from(v).ok()),
        )
        .always(
            "security",
            enum_name(e.security, |v| pb::SecurityMode::try_from(v).ok()),
        )
        .list(
            "secretenv",
            e.secretenv
                .iter()
                .map(|s| json!({"id": s.id, "name": s.name, "optional": s.optional}))
                .collect(),
        )
        .done()
}

fn user_json(u: &Option<pb::UserOpt>) -> Option<Value> {
    match u.as_ref()?.user.as_ref()? {
        pb::user_opt::User::ByName(n) => Some(json!({"name": n.name, "input": n.input})),
        pb::user_opt::User::ById(id) => Some(json!({"id": id})),
    }
}

fn owner_json(o: &Option<pb::ChownOpt>) -> Option<Value> {
    o.as_ref().map(|c| {
        Obj::default()
            .opt("user", user_json(&c.user))
            .opt("group", user_json(&c.group))
            .done()
    })
}

fn mode_json(m: i32) -> Value {
    if m < 0 {
        Value::from(m)
    } else {
        Value::from(format!("0{m:o}"))
    }
}

fn action_json(a: &pb::FileAction) -> Value {
    use pb::file_action::Action as A;
    let o = Obj::default()
        .always("input", a.input)
        .always("secondary_input", a.secondary_input)
        .always("output", a.output);
    match &a.action {
        Some(A::Copy(c)) => o.always(
            "copy",
            Obj::default()
                .always("src", c.src.as_str())
                .always("dest", c.dest.as_str())
                .opt("owner", owner_json(&c.owner))
                .always("mode", mode_json(c.mode))
                .s("mode_str", &c.mode_str)
                .b("follow_symlink", c.follow_symlink)
                .b("dir_copy_contents", c.dir_copy_contents)
                .b(
                    "attempt_unpack_docker_compatibility",
                    c.attempt_unpack_docker_compatibility,
                )
                .b("create_dest_path", c.create_dest_path)
                .b("allow_wildcard", c.allow_wildcard)
                .b("allow_empty_wildcard", c.allow_empty_wildcard)
                .always("timestamp", c.timestamp)
                .strs("include_patterns", &c.include_patterns)
                .strs("exclude_patterns", &c.exclude_patterns)
                .b(
                    "always_replace_existing_dest_paths",
                    c.always_replace_existing_dest_paths,
                )
                .strs("required_paths", &c.required_paths)
                .done(),
        ),
        Some(A::Mkfile(m)) => o.always(
            "mkfile",
            Obj::default()
                .always("path", m.path.as_str())
                .always("mode", mode_json(m.mode))
                .always("data", String::from_utf8_lossy(&m.data).into_owned())
                .opt("owner", owner_json(&m.owner))
                .always("timestamp", m.timestamp)
                .done(),
        ),
        Some(A::Mkdir(m)) => o.always(
            "mkdir",
            Obj::default()
                .always("path", m.path.as_str())
                .always("mode", mode_json(m.mode))
                .b("make_parents", m.make_parents)
                .opt("owner", owner_json(&m.owner))
                .always("timestamp", m.timestamp)
                .done(),
        ),
        Some(A::Rm(r)) => o.always(
            "rm",
            Obj::default()
                .always("path", r.path.as_str())
                .b("allow_not_found", r.allow_not_found)
                .b("allow_wildcard", r.allow_wildcard)
                .done(),
        ),
        Some(A::Symlink(s)) => o.always(
            "symlink",
            Obj::default()
                .always("oldpath", s.oldpath.as_str())
                .always("newpath", s.newpath.as_str())
                .opt("owner", owner_json(&s.owner))
                .always("timestamp", s.timestamp)
                .done(),
        ),
        None => o,
    }
    .done()
}
