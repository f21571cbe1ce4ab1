//! The scope `${…}` reads: args and env visible at a point of the spec.

use super::*;

#[derive(Clone, Default)]
pub(super) struct Vars {
    // Shared strings: scopes are cloned per stage and per step, cheaply
    // (each clone is charged to `Ev::copied`, bounded by
    // `MAX_INHERITED_ENTRIES`).
    pub(super) vals: Vec<(std::rc::Rc<str>, Option<std::rc::Rc<str>>)>,
    /// A name defined nowhere reads as empty ([`crate::BaseEnv::Discover`]).
    pub(super) lenient: bool,
    /// Name → its last entry in `vals` (a scan per reference was quadratic
    /// with thousands of args).
    pub(super) index: HashMap<std::rc::Rc<str>, usize>,
}

impl Vars {
    pub(super) fn set(&mut self, k: &str, v: Option<String>) {
        let k: std::rc::Rc<str> = k.into();
        self.index.insert(k.clone(), self.vals.len());
        self.vals.push((k, v.map(Into::into)));
    }
    pub(super) fn extend(&mut self, other: &Vars) {
        for (k, v) in &other.vals {
            self.index.insert(k.clone(), self.vals.len());
            self.vals.push((k.clone(), v.clone()));
        }
    }
    pub(super) fn len(&self) -> usize {
        self.vals.len()
    }
}

impl Scope for Vars {
    fn get(&self, name: &str) -> Option<Option<String>> {
        self.index
            .get(name)
            .map(|&i| self.vals[i].1.as_deref().map(String::from))
            .or_else(|| self.lenient.then(|| Some(String::new())))
    }
}
