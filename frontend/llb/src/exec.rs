//! Exec ops. Mounts are emitted as the Go client does (`llb-wire.md` §4):
//! bind, cache and tmpfs mounts (root included) sorted by dest, then secret
//! mounts, then ssh mounts, each in declaration order. Output numbers go
//! 0..n-1 over read-write bind mounts in that order, so they are known at
//! construction time and [`ExecResult`] can hand them out right away.

use crate::graph::{Graph, InputTable, NodeId, NodeKind, OpMeta, Output, State};
use crate::pb;

/// A secret exposed as an environment variable (`ExecOp.secretenv`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecretEnv {
    pub id: String,
    /// The env var name.
    pub name: String,
    pub optional: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// An exec: process settings, root filesystem and mounts.
#[derive(Clone, Debug, PartialEq)]
pub struct Exec {
    /// argv; must not be empty.
    pub args: Vec<String>,
    /// `KEY=value` in the order given (nothing is sorted).
    pub env: Vec<String>,
    /// Absolute working directory (default `/`).
    pub cwd: String,
    /// `name`, `uid`, `name:group` or `uid:gid`; empty = root.
    pub user: String,
    pub hostname: String,
    /// (host, ip) pairs.
    pub extra_hosts: Vec<(String, String)>,
    /// Empty = only 0 is success.
    pub valid_exit_codes: Vec<i32>,
    pub ulimits: Vec<Ulimit>,
    pub proxy_env: Option<pb::ProxyEnv>,
    /// The root filesystem (`None` = scratch).
    pub root: State,
    /// Mount root read-only: the exec then produces no root output.
    pub root_readonly: bool,
    pub mounts: Vec<Mount>,
    pub network: pb::NetMode,
    pub security: pb::SecurityMode,
    pub secret_env: Vec<SecretEnv>,
    /// Kept on the op (selects emulation when it differs from the worker).
    pub platform: Option<pb::Platform>,
}

impl Default for Exec {
    fn default() -> Self {
        Exec {
            args: vec![],
            env: vec![],
            cwd: "/".into(),
            user: String::new(),
            hostname: String::new(),
            extra_hosts: vec![],
            valid_exit_codes: vec![],
            ulimits: vec![],
            proxy_env: None,
            root: None,
            root_readonly: false,
            mounts: vec![],
            network: pb::NetMode::Unset,
            security: pb::SecurityMode::Sandbox,
            secret_env: vec![],
            platform: None,
        }
    }
}

impl Exec {
    /// `args` run on `root`, with cwd `/`.
    pub fn new(root: State, args: Vec<String>) -> Self {
        Exec {
            root,
            args,
            ..Default::default()
        }
    }

    /// Sets `KEY=value` as the Go client does: an existing entry for `key`
    /// is removed and the new one appended (insertion order, never sorted).
    pub fn set_env(&mut self, key: &str, value: &str) {
        let prefix = format!("{key}=");
        self.env.retain(|e| !e.starts_with(&prefix) && e != key);
        self.env.push(format!("{key}={value}"));
    }

    /// `/bin/sh -c <script>`.
    pub fn shell(root: State, script: &str) -> Self {
        Self::new(root, vec!["/bin/sh".into(), "-c".into(), script.into()])
    }
}

/// A bind mount of another state (or scratch).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BindMount {
    pub dest: String,
    pub source: State,
    /// Sub-path of the source to mount.
    pub selector: String,
    pub readonly: bool,
    /// Writable, but changes are thrown away (Go `ForceNoOutput`).
    pub no_output: bool,
}

/// A persistent cache directory.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheMount {
    pub dest: String,
    /// Must not be empty.
    pub id: String,
    pub sharing: pb::CacheSharingOpt,
    /// Initial content (Dockerfile `from=`), optionally a sub-path of it.
    pub seed: State,
    pub selector: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TmpfsMount {
    pub dest: String,
    /// Bytes; 0 = server default.
    pub size: i64,
}

/// A secret file (default mode 0400) or an ssh agent socket (default 0600).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecretMount {
    pub dest: String,
    pub id: String,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub optional: bool,
}

pub type SshMount = SecretMount;

#[derive(Clone, Debug, PartialEq)]
pub enum Mount {
    Bind(BindMount),
    Cache(CacheMount),
    Tmpfs(TmpfsMount),
    Secret(SecretMount),
    Ssh(SshMount),
}

impl Mount {
    pub fn bind_ro(dest: impl Into<String>, source: State, selector: impl Into<String>) -> Self {
        Mount::Bind(BindMount {
            dest: dest.into(),
            source,
            selector: selector.into(),
            readonly: true,
            no_output: false,
        })
    }
    /// A writable mount whose result is an exec output ([`ExecResult::mount`]).
    pub fn bind_rw(dest: impl Into<String>, source: State) -> Self {
        Mount::Bind(BindMount {
            dest: dest.into(),
            source,
            ..Default::default()
        })
    }
    pub fn cache(
        dest: impl Into<String>,
        id: impl Into<String>,
        sharing: pb::CacheSharingOpt,
    ) -> Self {
        Mount::Cache(CacheMount {
            dest: dest.into(),
            id: id.into(),
            sharing,
            seed: None,
            selector: String::new(),
        })
    }
    pub fn tmpfs(dest: impl Into<String>, size: i64) -> Self {
        Mount::Tmpfs(TmpfsMount {
            dest: dest.into(),
            size,
        })
    }
    pub fn secret(dest: impl Into<String>, id: impl Into<String>) -> Self {
        Mount::Secret(SecretMount {
            dest: dest.into(),
            id: id.into(),
            mode: 0o400,
            ..Default::default()
        })
    }
    pub fn ssh(dest: impl Into<String>, id: impl Into<String>) -> Self {
        Mount::Ssh(SecretMount {
            dest: dest.into(),
            id: id.into(),
            mode: 0o600,
            ..Default::default()
        })
    }

    pub fn dest(&self) -> &str {
        match self {
            Mount::Bind(m) => &m.dest,
            Mount::Cache(m) => &m.dest,
            Mount::Tmpfs(m) => &m.dest,
            Mount::Secret(m) | Mount::Ssh(m) => &m.dest,
        }
    }

    fn group(&self) -> u8 {
        match self {
            Mount::Bind(_) | Mount::Cache(_) | Mount::Tmpfs(_) => 0,
            Mount::Secret(_) => 1,
            Mount::Ssh(_) => 2,
        }
    }

    fn has_output(&self) -> bool {
        matches!(self, Mount::Bind(b) if !b.readonly && !b.no_output)
    }
}

/// What an exec produced.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecResult {
    pub node: NodeId,
    /// The root filesystem after the exec (the input root when read-only).
    pub root: State,
    /// Per entry of `Exec.mounts` (declaration order): the state at that
    /// mount after the exec. A read-write bind gives the exec's output; a
    /// read-only bind gives its source unchanged; cache, tmpfs, secret and
    /// ssh mounts give `None` (nothing is kept).
    pub mounts: Vec<State>,
}

impl ExecResult {
    pub fn root(&self) -> State {
        self.root
    }
    /// The state at the `i`-th declared mount.
    pub fn mount(&self, i: usize) -> State {
        self.mounts.get(i).copied().flatten()
    }
}

/// The stored exec: settings (`exec.mounts` empty: the mounts were moved
/// into `ordered`) plus mounts in emission order, each with its output
/// number (or -1).
#[derive(Clone, Debug)]
pub(crate) struct ExecNode {
    pub exec: Exec,
    /// (mount, output) in emission order; the root is a `Mount::Bind` at "/".
    pub ordered: Vec<(Mount, i64)>,
}

impl Graph {
    /// Adds an exec. Inputs are the root, bind sources and cache seeds.
    pub fn exec(&mut self, mut exec: Exec, meta: OpMeta) -> ExecResult {
        // Moved into `ordered` (the node's mounts in emission order); the
        // caller's declaration order is kept in `declared`.
        let declared = std::mem::take(&mut exec.mounts);
        let mut mounts: Vec<State> = declared
            .iter()
            .map(|m| match m {
                Mount::Bind(b) => b.source,
                _ => None,
            })
            .collect();
        let root = Mount::Bind(BindMount {
            dest: "/".into(),
            source: exec.root,
            selector: String::new(),
            readonly: exec.root_readonly,
            no_output: false,
        });
        // (mount, declaration index or None for root)
        let mut all: Vec<(Mount, Option<usize>)> = Vec::with_capacity(declared.len() + 1);
        all.push((root, None));
        all.extend(declared.into_iter().enumerate().map(|(i, m)| (m, Some(i))));
        // Stable sort: group (binds/cache/tmpfs, secrets, ssh), then dest
        // byte-wise within the first group; declaration order otherwise.
        all.sort_by(|(a, ai), (b, bi)| {
            let ka = (a.group(), if a.group() == 0 { a.dest() } else { "" });
            let kb = (b.group(), if b.group() == 0 { b.dest() } else { "" });
            ka.cmp(&kb).then(
                ai.map_or(-1, |x| x as i64)
                    .cmp(&bi.map_or(-1, |x| x as i64)),
            )
        });
        let node_id_next = NodeId(self.len() as u32);
        let mut next_out = 0i64;
        let mut ordered = Vec::with_capacity(all.len());
        let mut root_state = exec.root;
        for (m, decl) in all {
            let out = if m.has_output() {
                next_out += 1;
                next_out - 1
            } else {
                pb::EMPTY
            };
            if out >= 0 {
                let o = Some(Output {
                    node: node_id_next,
                    index: out as u32,
                });
                match decl {
                    None => root_state = o,
                    Some(i) => mounts[i] = o,
                }
            }
            ordered.push((m, out));
        }
        let node = self.push(NodeKind::Exec(Box::new(ExecNode { exec, ordered })), meta);
        debug_assert_eq!(node, node_id_next);
        ExecResult {
            node,
            root: root_state,
            mounts,
        }
    }
}

impl ExecNode {
    #[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
    pub(crate) fn deps(&self) -> Vec<Output> {
        self.ordered
            .iter()
            .filter_map(|(m, _)| match m {
                Mount::Bind(b) => b.source,
                Mount::Cache(c) => c.seed,
                _ => None,
            })
            .collect()
    }

    #[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
    pub(crate) fn to_pb(&self, resolve: &dyn Fn(Output) -> pb::Input) -> Result<pb::Op, String> {
        let e = &self.exec;
        if e.args.is_empty() {
            return Err("exec needs at least one argument".into());
        }
        let mut t = InputTable::new(true, resolve);
        let mut mounts = Vec::with_capacity(self.ordered.len());
        for (m, out) in &self.ordered {
            let pm = match m {
                Mount::Bind(b) => pb::Mount {
                    input: t.add(b.source),
                    selector: b.selector.clone(),
                    dest: b.dest.clone(),
                    output: *out,
                    readonly: b.readonly,
                    ..Default::default()
                },
                Mount::Cache(c) => {
                    if c.id.is_empty() {
                        return Err(format!("cache mount at {} needs an id", c.dest));
                    }
                    pb::Mount {
                        input: t.add(c.seed),
                        selector: c.selector.clone(),
                        dest: c.dest.clone(),
                        output: pb::EMPTY,
                        mount_type: pb::MountType::Cache as i32,
                        cache_opt: Some(pb::CacheOpt {
                            id: c.id.clone(),
                            sharing: c.sharing as i32,
                        }),
                        ..Default::default()
                    }
                }
                Mount::Tmpfs(tm) => pb::Mount {
                    input: pb::EMPTY,
                    dest: tm.dest.clone(),
                    output: pb::EMPTY,
                    mount_type: pb::MountType::Tmpfs as i32,
                    tmpfs_opt: Some(pb::TmpfsOpt { size: tm.size }),
                    ..Default::default()
                },
                // Output left at 0 as the Go client does; the server ignores it.
                Mount::Secret(s) => pb::Mount {
                    input: pb::EMPTY,
                    dest: s.dest.clone(),
                    mount_type: pb::MountType::Secret as i32,
                    secret_opt: Some(pb::SecretOpt {
                        id: s.id.clone(),
                        uid: s.uid,
                        gid: s.gid,
                        mode: s.mode,
                        optional: s.optional,
                    }),
                    ..Default::default()
                },
                Mount::Ssh(s) => pb::Mount {
                    input: pb::EMPTY,
                    dest: s.dest.clone(),
                    mount_type: pb::MountType::Ssh as i32,
                    ssh_opt: Some(pb::SshOpt {
                        id: s.id.clone(),
                        uid: s.uid,
                        gid: s.gid,
                        mode: s.mode,
                        optional: s.optional,
                    }),
                    ..Default::default()
                },
            };
            mounts.push(pm);
        }
        let meta = pb::Meta {
            args: e.args.clone(),
            env: e.env.clone(),
            cwd: if e.cwd.is_empty() {
                "/".into()
            } else {
                e.cwd.clone()
            },
            user: e.user.clone(),
            proxy_env: e.proxy_env.clone(),
            extra_hosts: e
                .extra_hosts
                .iter()
                .map(|(h, ip)| pb::HostIp {
                    host: h.clone(),
                    ip: ip.clone(),
                })
                .collect(),
            hostname: e.hostname.clone(),
            ulimit: e
                .ulimits
                .iter()
                .map(|u| pb::Ulimit {
                    name: u.name.clone(),
                    soft: u.soft,
                    hard: u.hard,
                })
                .collect(),
            cgroup_parent: String::new(),
            remove_mount_stubs_recursive: true,
            valid_exit_codes: e.valid_exit_codes.clone(),
        };
        Ok(pb::Op {
            inputs: t.inputs,
            op: Some(pb::op::Op::Exec(pb::ExecOp {
                meta: Some(meta),
                mounts,
                network: e.network as i32,
                security: e.security as i32,
                secretenv: e
                    .secret_env
                    .iter()
                    .map(|s| pb::SecretEnv {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        optional: s.optional,
                    })
                    .collect(),
                cdi_devices: vec![],
            })),
            platform: e.platform.clone(),
            constraints: Some(pb::WorkerConstraints::default()),
        })
    }
}
