//! Cycles among stages (`from:`, `copy.from`, mounts) and among groups.

use super::*;

impl<'a> Ev<'a> {
    pub(super) fn check_cycles(&mut self, edges: &[Vec<(usize, Span)>]) {
        let n = edges.len();
        let mut color = vec![0u8; n];
        // Position of each stage on `path` while it is there.
        let mut depth = vec![0usize; n];
        let mut reported: HashSet<Vec<usize>> = HashSet::new();
        for s in 0..n {
            if color[s] != 0 {
                continue;
            }
            // iterative DFS
            let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
            let mut path: Vec<usize> = vec![s];
            color[s] = 1;
            while let Some(&mut (u, ref mut ei)) = stack.last_mut() {
                if *ei < edges[u].len() {
                    let (w, _) = edges[u][*ei];
                    *ei += 1;
                    if color[w] == 1 {
                        let cyc: Vec<usize> = path[depth[w]..].to_vec();
                        let mut key = cyc.clone();
                        key.sort();
                        if reported.insert(key) {
                            self.report_cycle(&cyc, edges);
                            // Each report copies a path: a few are enough.
                            if reported.len() >= MAX_CYCLES_REPORTED {
                                return;
                            }
                        }
                    } else if color[w] == 0 {
                        color[w] = 1;
                        depth[w] = path.len();
                        stack.push((w, 0));
                        path.push(w);
                    }
                } else {
                    color[u] = 2;
                    stack.pop();
                    path.pop();
                }
            }
        }
    }

    pub(super) fn report_cycle(&mut self, cyc: &[usize], edges: &[Vec<(usize, Span)>]) {
        // start at the stage that comes first in the file
        let first = (0..cyc.len()).min_by_key(|&i| cyc[i]).unwrap_or(0);
        let rot: Vec<usize> = cyc[first..]
            .iter()
            .chain(cyc[..first].iter())
            .copied()
            .collect();
        let names: Vec<&str> = rot
            .iter()
            .chain(rot.first())
            .map(|&i| self.stage_names[i].as_str())
            .collect();
        let next = rot.get(1).copied().unwrap_or(rot[0]);
        let span = edges[rot[0]]
            .iter()
            .find(|(w, _)| *w == next)
            .map(|(_, s)| *s)
            .unwrap_or_default();
        let msg = format!("dependency cycle: {}", names.join(" -> "));
        self.err(
            Diagnostic::error("cycle", span, msg)
                .with_label(format!("`{}` depends on `{}` here", names[0], names[1]))
                .with_help("stages may not depend on each other in a loop (through `from`, `copy.from`, `bind.from` or `cache.from`); break one of the edges"),
        );
    }

    /// One depth-first pass over the group graph (each member edge looked
    /// at once); a cycle is reported at the group where it was entered.
    pub(super) fn check_group_cycles(&mut self, groups: &[Group]) {
        let idx: HashMap<&str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.value.as_str(), i))
            .collect();
        let n = groups.len();
        let mut color = vec![0u8; n];
        let mut depth = vec![0usize; n];
        let mut reported: HashSet<Vec<usize>> = HashSet::new();
        for start in 0..n {
            if color[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            let mut path: Vec<usize> = vec![start];
            color[start] = 1;
            while let Some(&mut (g, ref mut mi)) = stack.last_mut() {
                let Some(m) = groups[g].members.get(*mi) else {
                    color[g] = 2;
                    stack.pop();
                    path.pop();
                    continue;
                };
                *mi += 1;
                let Some(&w) = idx.get(m.value.as_str()) else {
                    continue;
                };
                if color[w] == 1 {
                    let cyc: Vec<usize> = path[depth[w]..].to_vec();
                    let mut key = cyc.clone();
                    key.sort();
                    if reported.insert(key) {
                        let names: Vec<&str> = cyc
                            .iter()
                            .chain(std::iter::once(&w))
                            .map(|&i| groups[i].name.value.as_str())
                            .collect();
                        self.err(
                            Diagnostic::error(
                                "group-cycle",
                                groups[w].name.span,
                                format!("group cycle: {}", names.join(" -> ")),
                            )
                            .with_label("this group contains itself")
                            .with_help("remove one of the group references"),
                        );
                        if reported.len() >= MAX_CYCLES_REPORTED {
                            return;
                        }
                    }
                } else if color[w] == 0 {
                    color[w] = 1;
                    depth[w] = path.len();
                    stack.push((w, 0));
                    path.push(w);
                }
            }
        }
    }
}
