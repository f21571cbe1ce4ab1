//! The image config: OCI image config plus Docker's extensions
//! (`Healthcheck`, `Shell`, `OnBuild`, `ArgsEscaped`).
//!
//! Own serde types rather than oci-spec's: oci-spec's `Config` has no
//! `Healthcheck`, and a base image's config must round-trip fields Slipway
//! does not know (kept in `extra`), or `docker inspect` would lose them.
//! Every map is a BTreeMap and fields serialize in declaration order, so the
//! JSON is deterministic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Docker's default PATH, which BuildKit also adds to execs without one.
pub use slipway_spec::DEFAULT_PATH;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Config,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "opt_map_is_empty")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "opt_vec_is_empty")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "opt_map_is_empty")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(default, skip_serializing_if = "opt_map_is_empty")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: u64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub retries: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default = "layers")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: layers(),
            diff_ids: Vec::new(),
        }
    }
}

fn layers() -> String {
    "layers".into()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

fn opt_map_is_empty<K, V>(m: &Option<BTreeMap<K, V>>) -> bool {
    m.as_ref().is_none_or(|m| m.is_empty())
}
fn opt_vec_is_empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(|v| v.is_empty())
}
fn is_zero(v: &u64) -> bool {
    *v == 0
}
fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

impl Image {
    /// Parse a config as ResolveImageConfig returns it. A config that does
    /// not parse is an error the caller reports with the image's name.
    pub fn parse(bytes: &[u8]) -> Result<Image, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// What offline compilation assumes for an image whose config is unknown:
    /// Docker's default PATH, root, `/`.
    pub fn assumed(platform: &slipway_spec::Platform) -> Image {
        let mut img = Image::empty(platform);
        img.config.env = Some(vec![format!("PATH={DEFAULT_PATH}")]);
        img
    }

    /// The config of `scratch`: nothing but the platform.
    pub fn empty(platform: &slipway_spec::Platform) -> Image {
        Image {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone(),
            ..Image::default()
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain structs and BTreeMaps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn env(&self) -> &[String] {
        self.config.env.as_deref().unwrap_or(&[])
    }

    /// Set `KEY=value`, replacing an earlier value of KEY in place (Docker
    /// keeps the position of a redefined variable in the config).
    pub fn set_env(&mut self, key: &str, value: &str) {
        let env = self.config.env.get_or_insert_with(Vec::new);
        set_env_in(env, key, value);
    }

    /// [`Self::set_env`] for many pairs, in one pass.
    pub fn set_envs<'p>(&mut self, pairs: impl IntoIterator<Item = (&'p str, &'p str)>) {
        let env = self.config.env.get_or_insert_with(Vec::new);
        set_envs_in(env, pairs);
    }
}

/// `KEY=value`, in one allocation.
pub fn env_entry(key: &str, value: &str) -> String {
    let mut e = String::with_capacity(key.len() + 1 + value.len());
    e.push_str(key);
    e.push('=');
    e.push_str(value);
    e
}

/// Set `KEY=value` in an env list, replacing an existing entry in place.
pub fn set_env_in(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = env_entry(key, value);
    match env
        .iter()
        .position(|e| e.split_once('=').map(|(k, _)| k) == Some(key) || e == key)
    {
        Some(i) => env[i] = entry,
        None => env.push(entry),
    }
}

/// [`set_env_in`] for many pairs: one pass to index the names when the
/// lists are large (one scan per pair was quadratic), same result.
pub fn set_envs_in<'p>(env: &mut Vec<String>, pairs: impl IntoIterator<Item = (&'p str, &'p str)>) {
    let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    if env.len().saturating_mul(pairs.len()) <= 1024 {
        for (k, v) in pairs {
            set_env_in(env, k, v);
        }
        return;
    }
    // Name → position of its first entry (what `set_env_in` replaces).
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, e) in env.iter().enumerate() {
        let name = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        at.entry(name.to_string()).or_insert(i);
    }
    for (k, v) in pairs {
        let entry = env_entry(k, v);
        match at.get(k) {
            Some(&i) => env[i] = entry,
            None => {
                at.insert(k.to_string(), env.len());
                env.push(entry);
            }
        }
    }
}

/// Look a variable up in an env list.
pub fn get_env<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find_map(|e| e.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_unknown_fields() {
        let json = br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Foo":1},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"weird":true}"#;
        let img = Image::parse(json).unwrap();
        let back: Value = serde_json::from_slice(&img.to_json()).unwrap();
        assert_eq!(back["config"]["Foo"], 1);
        assert_eq!(back["weird"], true);
        assert_eq!(back["rootfs"]["diff_ids"][0], "sha256:aa");
    }

    #[test]
    fn set_env_replaces_in_place() {
        let mut env = vec!["A=1".to_string(), "B=2".to_string()];
        set_env_in(&mut env, "A", "3");
        set_env_in(&mut env, "C", "4");
        assert_eq!(env, vec!["A=3", "B=2", "C=4"]);
        assert_eq!(get_env(&env, "B"), Some("2"));
        assert_eq!(get_env(&env, "Z"), None);
    }

    #[test]
    fn set_envs_matches_set_env_one_by_one() {
        let base: Vec<String> = (0..100).map(|i| format!("K{}={i}", i % 70)).collect();
        let pairs: Vec<(String, String)> = (0..50)
            .map(|i| (format!("K{}", i * 3), format!("v{i}")))
            .collect();
        let mut a = base.clone();
        for (k, v) in &pairs {
            set_env_in(&mut a, k, v);
        }
        let mut b = base;
        set_envs_in(&mut b, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(a, b);
    }
}
