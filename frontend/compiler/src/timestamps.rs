//! The image's times. The core has no clock: the driver passes the build's
//! time in ([`crate::CompileOptions::created`]), taken from
//! `SOURCE_DATE_EPOCH` (whole seconds since 1970 UTC, as BuildKit and the
//! reproducible-builds spec define it), else the time the build started.
//!
//! Where the epoch comes from, as BuildKit's Dockerfile frontend does it
//! (moby/buildkit `frontend/dockerui/config.go`: the `build-arg:SOURCE_DATE_EPOCH`
//! option; `frontend/dockerfile/dockerfile2llb/convert.go` `resolveSourceDateEpoch`,
//! commit d751ebd4b, Dockerfile 1.23: else a global-scope `ARG SOURCE_DATE_EPOCH=…`
//! default): the build arg when the client sets it (buildx and buildctl pass the
//! client's environment variable of that name on their own), else a default in
//! the spec's global `args:`. A stage's own `args:` never set it.
//!
//! `RUN` sees it as Docker's built-in args: through a stage `args:
//! {SOURCE_DATE_EPOCH:}` (Docker's `ARG SOURCE_DATE_EPOCH` in the stage, the
//! only way a Dockerfile `RUN` gets it), and, as Slipway does for the
//! predefined platform args, in a `run` command that names `$SOURCE_DATE_EPOCH`
//! ([`crate::CompileOptions::source_date_epoch`], `env::predefined`).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use crate::imageconfig::Image;

/// The build arg that pins the image's times.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// The result metadata key through which BuildKit's image exporter (v0.11+)
/// learns the epoch: it then clamps `created` and history times to it, and
/// with the exporter option `rewrite-timestamp=true` the layers' file times too.
pub const EXPORTER_EPOCH_KEY: &str = "source.date.epoch";

/// `SOURCE_DATE_EPOCH` from the build args: None when unset or empty (an
/// empty value means "not set", as in BuildKit); an error text when it is
/// not a whole number of seconds.
pub fn source_date_epoch(build_args: &BTreeMap<String, String>) -> Result<Option<u64>, String> {
    seconds(build_args.get(SOURCE_DATE_EPOCH).map(String::as_str)).map_err(|v| {
        format!(
            "build arg {SOURCE_DATE_EPOCH}=`{v}` is not a number of seconds since 1970-01-01 UTC; \
             pass e.g. `--build-arg {SOURCE_DATE_EPOCH}=$(git log -1 --format=%ct)`"
        )
    })
}

/// A value of `SOURCE_DATE_EPOCH` as seconds: None when unset or empty;
/// the trimmed text back when it is not a whole number.
fn seconds(v: Option<&str>) -> Result<Option<u64>, &str> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| v),
    }
}

/// The build's epoch: the build arg `SOURCE_DATE_EPOCH` when set (the
/// caller wins), else the spec's global `args:` value of that name
/// (`plan_args`: the plan's global args after `--build-arg` overrides). An
/// empty value is "not set"; an error text when it is not a whole number of
/// seconds.
pub fn epoch(
    plan_args: &[(String, String)],
    build_args: &BTreeMap<String, String>,
) -> Result<Option<u64>, String> {
    if let Some(e) = source_date_epoch(build_args)? {
        return Ok(Some(e));
    }
    let default = plan_args.iter().rev().find(|(k, _)| k == SOURCE_DATE_EPOCH);
    seconds(default.map(|(_, v)| v.as_str())).map_err(|v| {
        format!(
            "the default of arg {SOURCE_DATE_EPOCH} in `args:` (`{v}`) is not a number of seconds \
             since 1970-01-01 UTC; write e.g. `{SOURCE_DATE_EPOCH}: \"1704067200\"`"
        )
    })
}

/// `seconds` since the Unix epoch as RFC 3339 UTC (`2024-01-01T00:00:00Z`),
/// the form image configs use.
pub fn rfc3339(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}

/// Stamp the image: `created`, and every history entry Slipway added (those
/// of the base image keep their times, as BuildKit keeps them). None
/// (offline compile): the time is unknown, so `created` is left out rather
/// than the base image's being kept.
pub(crate) fn stamp(image: &mut Image, created: Option<&str>) {
    image.created = created.map(str::to_string);
    let Some(t) = created else { return };
    for h in &mut image.history {
        if h.created.is_none() && h.comment.as_deref() == Some(crate::lower::HISTORY_COMMENT) {
            h.created = Some(t.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_from_build_args() {
        let mut a = BTreeMap::new();
        assert_eq!(source_date_epoch(&a), Ok(None));
        a.insert(SOURCE_DATE_EPOCH.to_string(), String::new());
        assert_eq!(source_date_epoch(&a), Ok(None));
        a.insert(SOURCE_DATE_EPOCH.to_string(), "1704067200".into());
        assert_eq!(source_date_epoch(&a), Ok(Some(1_704_067_200)));
        a.insert(SOURCE_DATE_EPOCH.to_string(), "2024-01-01".into());
        let e = source_date_epoch(&a).unwrap_err();
        assert!(e.contains("`2024-01-01` is not a number of seconds"), "{e}");
        a.insert(SOURCE_DATE_EPOCH.to_string(), "-5".into());
        assert!(source_date_epoch(&a).is_err());
    }

    #[test]
    fn epoch_from_build_arg_then_global_default() {
        let mut b = BTreeMap::new();
        let none: Vec<(String, String)> = vec![];
        let def = vec![(SOURCE_DATE_EPOCH.to_string(), "1700000001".to_string())];
        assert_eq!(epoch(&none, &b), Ok(None));
        assert_eq!(epoch(&def, &b), Ok(Some(1_700_000_001)));
        b.insert(SOURCE_DATE_EPOCH.to_string(), "1700000002".into());
        assert_eq!(epoch(&def, &b), Ok(Some(1_700_000_002)));
        assert_eq!(epoch(&none, &b), Ok(Some(1_700_000_002)));
        b.insert(SOURCE_DATE_EPOCH.to_string(), String::new());
        assert_eq!(epoch(&def, &b), Ok(Some(1_700_000_001)));
        let empty = vec![(SOURCE_DATE_EPOCH.to_string(), String::new())];
        assert_eq!(epoch(&empty, &BTreeMap::new()), Ok(None));
        let bad = vec![(SOURCE_DATE_EPOCH.to_string(), "soon".to_string())];
        let e = epoch(&bad, &BTreeMap::new()).unwrap_err();
        assert!(
            e.contains("`args:` (`soon`) is not a number of seconds"),
            "{e}"
        );
    }

    #[test]
    fn formats_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
