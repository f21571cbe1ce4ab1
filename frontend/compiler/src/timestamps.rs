//! The image's times. The core has no clock: the driver passes the build's
//! time in ([`crate::CompileOptions::created`]), taken from
//! `SOURCE_DATE_EPOCH` when the client sets that build arg (as BuildKit and
//! the reproducible-builds spec define it: whole seconds since 1970 UTC),
//! else the time the build started.

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
    let Some(v) = build_args.get(SOURCE_DATE_EPOCH) else {
        return Ok(None);
    };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u64>().map(Some).map_err(|_| {
        format!(
            "build arg {SOURCE_DATE_EPOCH}=`{v}` is not a number of seconds since 1970-01-01 UTC; \
             pass e.g. `--build-arg {SOURCE_DATE_EPOCH}=$(git log -1 --format=%ct)`"
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
    fn formats_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
