//! `--progress=plain` output as steps with the line numbers where they start and finish: docker
//! 20.10 prints no wall-clock timestamps, so the order of lines is the time line.

/// One vertex of the build: the crate's progress vertex, with line positions.
pub use crate::Vertex as Step;

impl crate::Vertex {
    /// `[stage i/n] INSTR …` → (stage, Some(i), "INSTR …"); `[stage] WORKDIR …` → (stage, None, …).
    pub fn parts(&self) -> Option<(String, Option<usize>, String)> {
        let rest = self.name.strip_prefix('[')?;
        let (inside, instr) = rest.split_once("] ")?;
        let mut words = inside.split_whitespace();
        let first = words.next().unwrap_or("");
        let (stage, index) = match words.next() {
            Some(ix) => (
                first.to_string(),
                ix.split_once('/').and_then(|(i, _)| i.parse().ok()),
            ),
            None => match first.split_once('/').and_then(|(i, _)| i.parse().ok()) {
                Some(i) => (String::new(), Some(i)),
                None => (first.to_string(), None),
            },
        };
        Some((stage, index, instr.to_string()))
    }

    pub fn instruction(&self) -> String {
        self.parts().map(|p| p.2).unwrap_or_default()
    }

    /// A RUN, COPY or ADD step of the spec (not plumbing, not WORKDIR or FROM).
    pub fn is_run_or_copy(&self) -> bool {
        let i = self.instruction();
        i.starts_with("RUN ") || i.starts_with("COPY ") || i.starts_with("ADD ")
    }

    pub fn is_copy(&self) -> bool {
        let i = self.instruction();
        i.starts_with("COPY ") || i.starts_with("ADD ")
    }
}

pub fn parse(out: &str) -> Vec<Step> {
    crate::parse_progress(out)
}

/// Spec steps (RUN/COPY/ADD) that actually ran (not CACHED).
pub fn executed_steps(steps: &[Step]) -> Vec<&Step> {
    steps
        .iter()
        .filter(|s| s.is_run_or_copy() && !s.cached)
        .collect()
}

/// For every stage with an executed step: every step before the first executed one (by index)
/// must be CACHED, and that first one must be a COPY unless it opens the stage. Returns the violations.
pub fn check_only_after_copy_reruns(steps: &[Step]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    for s in steps {
        if let Some((stage, Some(_), _)) = s.parts() {
            if !stages.contains(&stage) {
                stages.push(stage);
            }
        }
    }
    for stage in stages {
        let mut in_stage: Vec<(usize, &Step)> = steps
            .iter()
            .filter_map(|s| match s.parts() {
                Some((st, Some(i), _)) if st == stage && s.is_run_or_copy() => Some((i, s)),
                _ => None,
            })
            .collect();
        in_stage.sort_by_key(|(i, _)| *i);
        let Some(pos) = in_stage.iter().position(|(_, s)| !s.cached) else {
            continue;
        };
        let (_, first) = in_stage[pos];
        // A stage whose parent changed re-runs from its first step; otherwise the first step to
        // re-run must be the copy that brings the edited file (or a result built from it).
        if pos > 0 && !first.is_copy() {
            problems.push(format!(
                "stage `{stage}`: the first step that re-ran is not a COPY although the steps before it were CACHED: {}",
                first.name
            ));
        }
        for (_, s) in &in_stage[..pos] {
            if !s.cached {
                problems.push(format!(
                    "stage `{stage}`: step before the copy not CACHED: {}",
                    s.name
                ));
            }
        }
    }
    problems
}

/// Where a group of steps (names containing any marker) starts and ends, in output lines.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub steps: usize,
}

pub fn span(steps: &[Step], markers: &[String]) -> Option<Span> {
    let mine: Vec<&Step> = steps
        .iter()
        .filter(|s| !s.cached && markers.iter().any(|m| s.name.contains(m.as_str())))
        .collect();
    if mine.is_empty() {
        return None;
    }
    let start = mine.iter().map(|s| s.first_line).min()?;
    let end = mine
        .iter()
        .map(|s| s.end_line.unwrap_or(usize::MAX))
        .max()?;
    Some(Span {
        start,
        end,
        steps: mine.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "#1 [internal] load build definition from slipway.yaml
#1 DONE 0.0s

#4 [frontend 2/5] COPY package.json ./
#4 CACHED
#5 [frontend 3/5] RUN true
#5 CACHED

#6 [frontend 4/5] RUN npm ci
#7 [backend 3/5] RUN go mod download
#6 0.512 added 2 packages
#6 DONE 2.1s
#7 DONE 3.0s

#8 [frontend] WORKDIR /web
#8 CACHED
#9 [2/3] COPY . .
#9 DONE 0.1s
";

    #[test]
    fn parses_steps_and_lines() {
        let s = parse(OUT);
        assert_eq!(s.len(), 7);
        assert_eq!(
            s[3].parts(),
            Some(("frontend".into(), Some(4), "RUN npm ci".into()))
        );
        assert_eq!(s[3].first_line, 8);
        assert_eq!(s[3].first_log_line, Some(10));
        assert_eq!(s[3].end_line, Some(11));
        assert_eq!(
            s[5].parts(),
            Some(("frontend".into(), None, "WORKDIR /web".into()))
        );
        assert_eq!(s[6].parts(), Some(("".into(), Some(2), "COPY . .".into())));
        assert_eq!(executed_steps(&s).len(), 3);
        let f = span(&s, &["npm ci".into()]).unwrap();
        let b = span(&s, &["go mod download".into()]).unwrap();
        assert!(f.start.max(b.start) < f.end.min(b.end));
        // frontend: 2/5 and 3/5 cached, then 4/5 RUN ran first: not a COPY.
        assert_eq!(check_only_after_copy_reruns(&s).len(), 1);
    }
}
