//! Reading package-manager invocations out of `run` commands.
//!
//! A command is split into simple commands at `&&`, `||`, `;`, `|` and line
//! breaks, then into words at whitespace (quotes are not interpreted: this is
//! advice, not a shell). Leading `VAR=value`, `sudo`, `env` and `exec` are
//! skipped and the program is taken by its base name, so
//! `/opt/venv/bin/pip install -r requirements.txt` is `pip install`.

use crate::plan::Command;

/// A package manager that downloads dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Pip,
    Npm,
    Yarn,
    Pnpm,
    Cargo,
    Go,
    Maven,
    Gradle,
    Bundler,
    Composer,
    Apt,
}

impl Manager {
    /// The usual cache directory (for the help text).
    pub fn cache_dir(self) -> &'static str {
        match self {
            Manager::Pip => "/root/.cache/pip",
            Manager::Npm => "/root/.npm",
            Manager::Yarn => "/usr/local/share/.cache/yarn",
            Manager::Pnpm => "/root/.local/share/pnpm/store",
            Manager::Cargo => "/usr/local/cargo/registry",
            Manager::Go => "/go/pkg/mod",
            Manager::Maven => "/root/.m2",
            Manager::Gradle => "/root/.gradle",
            Manager::Bundler => "/usr/local/bundle/cache",
            Manager::Composer => "/root/.composer/cache",
            Manager::Apt => "/var/cache/apt",
        }
    }
    /// The manifests to copy before installing (for the help text).
    pub fn manifests(self) -> &'static str {
        match self {
            Manager::Pip => "requirements.txt (or pyproject.toml)",
            Manager::Npm => "package.json, package-lock.json",
            Manager::Yarn => "package.json, yarn.lock",
            Manager::Pnpm => "package.json, pnpm-lock.yaml",
            Manager::Cargo => "Cargo.toml, Cargo.lock",
            Manager::Go => "go.mod, go.sum",
            Manager::Maven => "pom.xml",
            Manager::Gradle => "build.gradle, settings.gradle",
            Manager::Bundler => "Gemfile, Gemfile.lock",
            Manager::Composer => "composer.json, composer.lock",
            Manager::Apt => "",
        }
    }
}

/// File names that declare dependencies.
pub const MANIFESTS: &[&str] = &[
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "requirements.txt",
    "pyproject.toml",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
    "uv.lock",
    "Cargo.toml",
    "Cargo.lock",
    "go.mod",
    "go.sum",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "settings.gradle.kts",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
];

/// True when a copied path names a dependency manifest (`requirements-dev.txt` too).
pub fn is_manifest(path: &str) -> bool {
    let base = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    MANIFESTS.contains(&base) || (base.starts_with("requirements") && base.ends_with(".txt"))
}

/// One package-manager call found in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub manager: Manager,
    /// The words of the simple command, from the program on.
    pub words: Vec<String>,
}

impl Install {
    pub fn has(&self, flag: &str) -> bool {
        self.words
            .iter()
            .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
    }
    /// `pip install …`, shortened for messages.
    pub fn short(&self) -> String {
        let mut s = self
            .words
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        if self.words.len() > 3 {
            s.push_str(" …");
        }
        s
    }
    /// Installs that never download (`--offline`, pip `--no-index`).
    pub fn offline(&self) -> bool {
        self.has("--offline")
            || self.has("--frozen") && self.manager == Manager::Cargo
            || self.manager == Manager::Pip && self.has("--no-index")
    }
}

/// The simple commands of a `run`, as word lists.
pub fn simple_commands(cmd: &Command) -> Vec<Vec<String>> {
    match cmd {
        Command::Exec(words) => {
            // `[sh, -c, "…"]` is a shell command in exec form.
            if words.len() >= 3 && words[1] == "-c" && words[0].ends_with("sh") {
                split_shell(&words[2])
            } else {
                vec![words.clone()]
            }
        }
        Command::Shell(s) => split_shell(s),
    }
}

fn split_shell(s: &str) -> Vec<Vec<String>> {
    let mut out = vec![];
    let mut cur: Vec<String> = vec![];
    for word in s.split(|c: char| c.is_whitespace()) {
        let mut word = word;
        // separators glued to words: `a;b`, `x&&`
        loop {
            let cut = [";", "&&", "||", "|", "&"]
                .iter()
                .filter_map(|sep| word.find(sep).map(|i| (i, sep.len())))
                .min();
            match cut {
                Some((i, len)) => {
                    if i > 0 {
                        cur.push(word[..i].to_string());
                    }
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    word = &word[i + len..];
                }
                None => break,
            }
        }
        if !word.is_empty() && word != "\\" {
            cur.push(word.trim_matches(['(', ')']).to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Every package-manager install in a command.
pub fn installs(cmd: &Command) -> Vec<Install> {
    simple_commands(cmd)
        .into_iter()
        .filter_map(install)
        .collect()
}

fn install(words: Vec<String>) -> Option<Install> {
    let start = words.iter().position(|w| {
        !(w.contains('=') && !w.starts_with('-')
            || matches!(w.as_str(), "sudo" | "env" | "exec" | "time" | "nice"))
    })?;
    let mut words = words[start..].to_vec();
    let prog = words[0].rsplit('/').next().unwrap_or("").to_string();
    // `python -m pip …` is `pip …`
    if prog.starts_with("python")
        && words.get(1).map(String::as_str) == Some("-m")
        && words.len() > 2
    {
        words.drain(..2);
        return install(words);
    }
    let sub: Vec<&str> = words[1..]
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with('-'))
        .take(2)
        .collect();
    let first = sub.first().copied().unwrap_or("");
    let manager = match prog.as_str() {
        "pip" | "pip3" | "uv" if matches!(first, "install" | "wheel" | "download" | "sync") => {
            Manager::Pip
        }
        "npm" if matches!(first, "ci" | "install" | "i" | "add") => Manager::Npm,
        "yarn" if matches!(first, "" | "install" | "add") => Manager::Yarn,
        "pnpm" if matches!(first, "install" | "i" | "add" | "fetch") => Manager::Pnpm,
        "cargo" if matches!(first, "fetch" | "build" | "install" | "test") => Manager::Cargo,
        "go" if matches!(first, "get" | "install" | "build" | "test")
            || sub == ["mod", "download"] =>
        {
            Manager::Go
        }
        "mvn" | "mvnw" if !first.is_empty() => Manager::Maven,
        "gradle" | "gradlew" if !first.is_empty() => Manager::Gradle,
        "bundle" if first == "install" => Manager::Bundler,
        "gem" if first == "install" => Manager::Bundler,
        "composer" if matches!(first, "install" | "require") => Manager::Composer,
        "apt-get" | "apt" if first == "install" => Manager::Apt,
        _ => return None,
    };
    words[0] = prog;
    Some(Install { manager, words })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<(Manager, String)> {
        installs(&Command::Shell(s.into()))
            .into_iter()
            .map(|i| (i.manager, i.short()))
            .collect()
    }

    #[test]
    fn finds_installs_in_chains() {
        assert_eq!(
            found("python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt"),
            [(Manager::Pip, "pip install -r …".into())]
        );
        assert_eq!(
            found("apt-get update&&apt-get install -y curl;rm -rf /x"),
            [(Manager::Apt, "apt-get install -y …".into())]
        );
        assert_eq!(
            found("CGO_ENABLED=0 go build -o /x ."),
            [(Manager::Go, "go build -o …".into())]
        );
        assert_eq!(
            found("go mod download"),
            [(Manager::Go, "go mod download".into())]
        );
        assert_eq!(
            found("python3 -m pip install ."),
            [(Manager::Pip, "pip install .".into())]
        );
        assert_eq!(found("yarn"), [(Manager::Yarn, "yarn".into())]);
        assert!(found("npm run build && npm test && go vet ./... && echo pip install").is_empty());
        assert!(found("go mod tidy").is_empty());
    }

    #[test]
    fn exec_form_with_sh_c_is_a_shell_command() {
        let c = Command::Exec(vec!["sh".into(), "-c".into(), "npm ci".into()]);
        assert_eq!(installs(&c)[0].manager, Manager::Npm);
        let c = Command::Exec(vec!["npm".into(), "ci".into()]);
        assert_eq!(installs(&c)[0].manager, Manager::Npm);
    }

    #[test]
    fn manifests() {
        assert!(is_manifest("frontend/package.json"));
        assert!(is_manifest("requirements-lint.txt"));
        assert!(!is_manifest("src/main.rs"));
    }
}
