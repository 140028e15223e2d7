//! Layered configuration: compiled-in defaults, then an optional TOML file, then the
//! environment, each overriding the one before; validated once, at start.
//!
//! A binary's configuration is one or more [`Section`]s read from the same [`Layers`]. Every
//! leaf key of a section is also an environment variable: the key path joined by `_`,
//! upper-cased, after the binary's prefix (`database.max_connections` of ticket-svc is
//! `TICKET_DATABASE_MAX_CONNECTIONS`). Adding a setting is therefore one field and its default;
//! [`Section::ENV_ALIASES`] keeps older names working. Empty variables count as unset, so
//! `X: ${X:-}` in Compose files leaves the default alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::error::Kind;
use figment::providers::{Format as _, Serialized, Toml};
use figment::value::{Dict, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::secret;

/// Configuration that could not be loaded; the message names the variable or key at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl From<String> for ConfigError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// A value of the right type that is still unusable (a range, a format).
#[derive(Debug)]
pub struct Invalid {
    /// Key path within the section, e.g. `database.max_connections`.
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self { key: key.into(), message: message.to_string() }
    }
}

/// One part of a binary's configuration.
pub trait Section: Serialize + DeserializeOwned {
    /// Environment names that predate the derived `<PREFIX>_<KEY>` ones, as
    /// `(variable, key path)`; the derived name wins when both are set.
    const ENV_ALIASES: &'static [(&'static str, &'static str)] = &[];

    /// Checks beyond the types, run once after loading.
    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

/// A section without settings, for services that have nothing beyond the shared ones.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
pub struct NoOptions {}

impl Section for NoOptions {}

struct File {
    path: PathBuf,
    text: String,
    keys: BTreeSet<String>,
}

/// The sources of one binary's configuration.
pub struct Layers {
    prefix: String,
    file: Option<File>,
    env: BTreeMap<String, String>,
    /// Environment name → key path of every key a section has read, to catch two keys that
    /// would share a variable.
    names: BTreeMap<String, String>,
    /// The older names of those keys.
    aliases: Vec<&'static str>,
}

impl Layers {
    /// This process's layers: `file` (from `--config` or `ENNEO_CONFIG`) and its environment.
    pub fn from_process(prefix: &str, file: Option<&Path>) -> Result<Self, ConfigError> {
        let env = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        Self::new(prefix, file, env)
    }

    /// Layers over an explicit environment (tests).
    pub fn new(
        prefix: &str,
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let file = file.map(read_file).transpose()?;
        let env = env.into_iter().filter(|(_, value)| !value.is_empty()).collect();
        Ok(Self {
            prefix: prefix.to_owned(),
            file,
            env,
            names: BTreeMap::new(),
            aliases: Vec::new(),
        })
    }

    /// Reads `T` over `defaults`, then validates it.
    pub fn section<T: Section>(&mut self, defaults: T) -> Result<T, ConfigError> {
        let defaults = secret::revealed(|| {
            Value::serialize(&defaults)
                .map_err(|e| ConfigError(format!("compiled-in defaults: {e}")))
        })?;
        let keys = leaf_keys(&defaults);
        for (alias, key) in T::ENV_ALIASES {
            debug_assert!(keys.contains(*key), "alias {alias} names no key ({key})");
            self.aliases.push(alias);
        }
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(file) = &self.file {
            figment = figment.merge(Toml::string(&file.text));
        }
        // Key path → the variable that set it.
        let mut set_by = BTreeMap::new();
        for key in &keys {
            let name = self.env_name(key);
            if let Some(other) = self.names.insert(name.clone(), key.clone()) {
                return Err(ConfigError(format!("{name} would set both {other} and {key}")));
            }
            let alias = T::ENV_ALIASES.iter().find(|(_, k)| k == key).map(|(alias, _)| *alias);
            let found = std::iter::once(name.as_str())
                .chain(alias)
                .find_map(|n| self.env.get(n).map(|value| (n, value)));
            if let Some((name, value)) = found {
                figment = figment.merge(Serialized::default(key, value.as_str()));
                set_by.insert(key.clone(), name.to_owned());
            }
        }
        let value: T = figment.extract_lossy().map_err(|errors| {
            let lines: Vec<String> = errors
                .into_iter()
                .map(|e| {
                    format!("{}: {}", self.source(&e.path.join("."), &set_by), explain(&e.kind))
                })
                .collect();
            ConfigError(lines.join("\n"))
        })?;
        value
            .validate()
            .map_err(|i| ConfigError(format!("{}: {}", self.source(&i.key, &set_by), i.message)))?;
        Ok(value)
    }

    /// Every variable the sections read so far, older names included.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str).chain(self.aliases.iter().copied())
    }

    /// Fails on keys of the file that no section read: a misspelt key would otherwise be
    /// silently ignored.
    pub fn finish(self) -> Result<(), ConfigError> {
        let Some(file) = &self.file else { return Ok(()) };
        let known: BTreeSet<&String> = self.names.values().collect();
        let unknown: Vec<&str> =
            file.keys.iter().filter(|k| !known.contains(k)).map(String::as_str).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(ConfigError(format!("{}: unknown key(s) {}", file.path.display(), unknown.join(", "))))
    }

    /// `<PREFIX>_<KEY>`: `database.max_connections` → `TICKET_DATABASE_MAX_CONNECTIONS`.
    fn env_name(&self, key: &str) -> String {
        format!("{}_{}", self.prefix, key.replace('.', "_").to_ascii_uppercase())
    }

    /// Where the value of `key` came from, as an operator would look for it; a default is
    /// named by the variable that would override it.
    fn source(&self, key: &str, set_by: &BTreeMap<String, String>) -> String {
        if let Some(name) = set_by.get(key) {
            return name.clone();
        }
        match &self.file {
            Some(file) if file.keys.contains(key) => format!("{key} in {}", file.path.display()),
            _ => self.env_name(key),
        }
    }
}

fn read_file(path: &Path) -> Result<File, ConfigError> {
    let fail = |e: &dyn std::fmt::Display| ConfigError(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| fail(&e))?;
    let dict: Dict = Figment::from(Toml::string(&text)).extract().map_err(|e| fail(&e))?;
    let keys = leaf_keys(&Value::from(dict));
    Ok(File { path: path.to_owned(), text, keys })
}

/// The dotted paths of every non-table value.
fn leaf_keys(value: &Value) -> BTreeSet<String> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Dict(_, dict) => {
                for (name, child) in dict {
                    let path =
                        if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                    walk(&path, child, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", value, &mut out);
    out
}

/// A deserialization error in words for operators rather than Rust type names.
fn explain(kind: &Kind) -> String {
    match kind {
        Kind::InvalidType(found, expected) | Kind::InvalidValue(found, expected) => {
            format!("expected {}, found {found}", plain(expected))
        }
        Kind::UnknownVariant(found, expected) => {
            format!("expected one of {}, found {found:?}", expected.join(", "))
        }
        other => other.to_string(),
    }
}

fn plain(expected: &str) -> &str {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        e if e.starts_with("a nonzero u") => "a positive integer",
        e if e.starts_with("a nonzero i") => "a non-zero integer",
        e => e,
    }
}
