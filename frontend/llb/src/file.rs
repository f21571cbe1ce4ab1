//! File ops: a chain of actions, each applied to the result of the previous
//! one (the first to the base state). Indexing follows `llb-wire.md` §2/§6:
//! the first action's input is the base's index in `Op.inputs` (or -1),
//! action i > 0 reads `len(inputs) + i - 1`, only the last action has an
//! output (0), every other one has -1. Copy sources are `secondaryInput`.
//! Mode and timestamp default to -1 ("keep" / "no override"): 0 would mean
//! chmod 0000 and the 1970 epoch.

use crate::graph::{Graph, InputTable, NodeKind, OpMeta, Output, State};
use crate::pb;

/// A user or group: by name (resolved against the action's base
/// /etc/passwd and /etc/group) or by numeric id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    Name(String),
    Id(u32),
}

/// Owner of created files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chown {
    pub user: Option<UserRef>,
    pub group: Option<UserRef>,
}

/// Copy `src` (from the secondary state) to `dest` (in the chain's state).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Copy {
    pub src: String,
    /// A trailing `/` means "into this directory".
    pub dest: String,
    pub owner: Option<Chown>,
    /// None: keep source modes (-1 on the wire).
    pub mode: Option<i32>,
    /// Symbolic mode such as `u+x`; wins over `mode` (cap `file.copy.modestring`).
    pub mode_str: String,
    pub follow_symlink: bool,
    pub dir_copy_contents: bool,
    pub attempt_unpack_docker_compatibility: bool,
    pub create_dest_path: bool,
    pub allow_wildcard: bool,
    pub allow_empty_wildcard: bool,
    /// Unix nanoseconds; None = keep (-1).
    pub timestamp: Option<i64>,
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub always_replace_existing_dest_paths: bool,
    pub required_paths: Vec<String>,
}

impl Copy {
    pub fn new(src: impl Into<String>, dest: impl Into<String>) -> Self {
        Copy {
            src: src.into(),
            dest: dest.into(),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MkFile {
    pub path: String,
    /// Masked to 0o777.
    pub mode: i32,
    pub data: Vec<u8>,
    pub owner: Option<Chown>,
    pub timestamp: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MkDir {
    pub path: String,
    /// Masked to 0o777.
    pub mode: i32,
    pub make_parents: bool,
    pub owner: Option<Chown>,
    pub timestamp: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rm {
    pub path: String,
    pub allow_not_found: bool,
    pub allow_wildcard: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Symlink {
    /// The link target.
    pub oldpath: String,
    /// Where the link is created.
    pub newpath: String,
    pub owner: Option<Chown>,
    pub timestamp: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    Copy(State, Copy),
    MkFile(MkFile),
    MkDir(MkDir),
    Rm(Rm),
    Symlink(Symlink),
}

/// Builds one FileOp: `FileOpBuilder::new(base).mkdir(..).copy(from, ..)`.
/// Paths are used as given: pass absolute, clean paths (the compiler resolves
/// them against the stage's working directory).
#[derive(Clone, Debug, PartialEq)]
pub struct FileOpBuilder {
    base: State,
    actions: Vec<Action>,
}

impl FileOpBuilder {
    pub fn new(base: State) -> Self {
        FileOpBuilder {
            base,
            actions: vec![],
        }
    }
    pub fn copy(mut self, from: State, c: Copy) -> Self {
        self.actions.push(Action::Copy(from, c));
        self
    }
    pub fn mkfile(mut self, m: MkFile) -> Self {
        self.actions.push(Action::MkFile(m));
        self
    }
    pub fn mkdir(mut self, m: MkDir) -> Self {
        self.actions.push(Action::MkDir(m));
        self
    }
    pub fn rm(mut self, r: Rm) -> Self {
        self.actions.push(Action::Rm(r));
        self
    }
    pub fn symlink(mut self, s: Symlink) -> Self {
        self.actions.push(Action::Symlink(s));
        self
    }
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct FileNode {
    pub(crate) base: State,
    pub(crate) actions: Vec<Action>,
}

impl Graph {
    /// Adds the FileOp; returns its single output (the last action's
    /// result). With no actions, returns the base state and adds nothing.
    pub fn file(&mut self, b: FileOpBuilder, meta: OpMeta) -> State {
        if b.actions.is_empty() {
            return b.base;
        }
        let node = self.push(
            NodeKind::File(FileNode {
                base: b.base,
                actions: b.actions,
            }),
            meta,
        );
        Some(Output { node, index: 0 })
    }
}

#[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
fn chown(c: &Option<Chown>, base: i64) -> Result<Option<pb::ChownOpt>, String> {
    let Some(c) = c else { return Ok(None) };
    let user = |u: &Option<UserRef>| -> Result<Option<pb::UserOpt>, String> {
        Ok(match u {
            None => None,
            Some(UserRef::Id(id)) => Some(pb::UserOpt {
                user: Some(pb::user_opt::User::ById(*id)),
            }),
            Some(UserRef::Name(n)) => {
                if base < 0 {
                    return Err(format!(
                        "owner {n:?} by name needs a base with /etc/passwd, not scratch"
                    ));
                }
                Some(pb::UserOpt {
                    user: Some(pb::user_opt::User::ByName(pb::NamedUserOpt {
                        name: n.clone(),
                        input: base,
                    })),
                })
            }
        })
    };
    Ok(Some(pb::ChownOpt {
        user: user(&c.user)?,
        group: user(&c.group)?,
    }))
}

#[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
fn ts(t: Option<i64>) -> i64 {
    t.unwrap_or(-1)
}

impl FileNode {
    #[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
    pub(crate) fn deps(&self) -> Vec<Output> {
        let mut v: Vec<Output> = self.base.into_iter().collect();
        for a in &self.actions {
            if let Action::Copy(Some(o), _) = a {
                v.push(*o);
            }
        }
        v
    }

    #[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
    pub(crate) fn to_pb(&self, resolve: &dyn Fn(Output) -> pb::Input) -> Result<pb::Op, String> {
        let mut t = InputTable::new(true, resolve);
        let base = t.add(self.base);
        let secondary: Vec<i64> = self
            .actions
            .iter()
            .map(|a| match a {
                Action::Copy(from, _) => t.add(*from),
                _ => pb::EMPTY,
            })
            .collect();
        let n = t.inputs.len() as i64;
        let last = self.actions.len() - 1;
        let mut actions = Vec::with_capacity(self.actions.len());
        for (i, a) in self.actions.iter().enumerate() {
            let input = if i == 0 { base } else { n + i as i64 - 1 };
            use pb::file_action::Action as A;
            let action = match a {
                Action::Copy(_, c) => A::Copy(pb::FileActionCopy {
                    src: c.src.clone(),
                    dest: c.dest.clone(),
                    owner: chown(&c.owner, input)?,
                    mode: c.mode.unwrap_or(-1),
                    follow_symlink: c.follow_symlink,
                    dir_copy_contents: c.dir_copy_contents,
                    attempt_unpack_docker_compatibility: c.attempt_unpack_docker_compatibility,
                    create_dest_path: c.create_dest_path,
                    allow_wildcard: c.allow_wildcard,
                    allow_empty_wildcard: c.allow_empty_wildcard,
                    timestamp: ts(c.timestamp),
                    include_patterns: c.include_patterns.clone(),
                    exclude_patterns: c.exclude_patterns.clone(),
                    always_replace_existing_dest_paths: c.always_replace_existing_dest_paths,
                    mode_str: c.mode_str.clone(),
                    required_paths: c.required_paths.clone(),
                }),
                Action::MkFile(m) => A::Mkfile(pb::FileActionMkFile {
                    path: m.path.clone(),
                    mode: m.mode & 0o777,
                    data: m.data.clone(),
                    owner: chown(&m.owner, input)?,
                    timestamp: ts(m.timestamp),
                }),
                Action::MkDir(m) => A::Mkdir(pb::FileActionMkDir {
                    path: m.path.clone(),
                    mode: m.mode & 0o777,
                    make_parents: m.make_parents,
                    owner: chown(&m.owner, input)?,
                    timestamp: ts(m.timestamp),
                }),
                Action::Rm(r) => A::Rm(pb::FileActionRm {
                    path: r.path.clone(),
                    allow_not_found: r.allow_not_found,
                    allow_wildcard: r.allow_wildcard,
                }),
                Action::Symlink(s) => A::Symlink(pb::FileActionSymlink {
                    oldpath: s.oldpath.clone(),
                    newpath: s.newpath.clone(),
                    owner: chown(&s.owner, input)?,
                    timestamp: ts(s.timestamp),
                }),
            };
            actions.push(pb::FileAction {
                input,
                secondary_input: secondary[i],
                output: if i == last { 0 } else { pb::EMPTY },
                action: Some(action),
            });
        }
        Ok(pb::Op {
            inputs: t.inputs,
            op: Some(pb::op::Op::File(pb::FileOp { actions })),
            platform: None,
            constraints: Some(pb::WorkerConstraints::default()),
        })
    }
}
