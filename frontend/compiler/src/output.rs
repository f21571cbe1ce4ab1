//! `output:`: a target stage whose result is only some of its paths (test
//! reports, built artifacts) copied onto an empty base. The copy reads the
//! stage's filesystem, so every step still runs (and a failing one still
//! fails the build), but what is exported (`-o type=local`, the image) is
//! only those paths.

use slipway_llb::{self as llb, OpMeta};
use slipway_spec::{Span, Stage};

use crate::imageconfig::{History, Image};
use crate::lower::{range, Lowering, StageResult, HISTORY_COMMENT};
use crate::paths;

impl Lowering<'_> {
    /// The result of target `stage` as exported: `r` itself without
    /// `output:`, else a scratch filesystem holding the output paths and an
    /// empty image config for the stage's platform.
    pub(crate) fn output_result(&mut self, stage: &Stage, r: StageResult) -> StageResult {
        let (Some(first), Some(last)) = (r.outputs.first(), r.outputs.last()) else {
            return r;
        };
        let span = Span::new(first.1.start, last.1.end);
        let mut b = llb::FileOpBuilder::new(None);
        let mut listed = String::new();
        for (path, _) in &r.outputs {
            // A glob copies its matches into their directory; a path keeps its place.
            let dest = if paths::has_glob(path) {
                format!("{}/", paths::parent(path).trim_end_matches('/'))
            } else {
                path.clone()
            };
            b = b.copy(
                r.fs,
                llb::Copy {
                    src: path.clone(),
                    dest,
                    dir_copy_contents: true,
                    create_dest_path: true,
                    allow_wildcard: true,
                    // A result that is not there is an error, not an empty image.
                    allow_empty_wildcard: false,
                    ..Default::default()
                },
            );
            listed.push(' ');
            listed.push_str(path);
        }
        let name = &stage.name.value;
        let mut meta = OpMeta::named(format!("[{name}] OUTPUT{listed}")).with_range(range(span));
        meta.ignore_cache = self.stage_no_cache(name);
        let fs = self.graph.file(b, meta);
        let mut image = Image::empty(&r.platform);
        image.history.push(History {
            created_by: Some(format!("OUTPUT{listed} # slipway")),
            comment: Some(HISTORY_COMMENT.into()),
            ..Default::default()
        });
        StageResult {
            fs,
            image,
            platform: r.platform,
            outputs: Vec::new(),
        }
    }
}
