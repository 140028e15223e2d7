//! The `config` subcommand's output: every section of a binary as one document, as TOML
//! (which `--config` reads back) or JSON, with secrets masked.

use serde::Serialize;
use serde_json::{Map, Value};

use super::layers::ConfigError;

#[derive(Debug, Default)]
pub struct Effective(Map<String, Value>);

impl Effective {
    /// Adds the keys of `section`.
    pub fn with<T: Serialize>(mut self, section: &T) -> Result<Self, ConfigError> {
        match serde_json::to_value(section) {
            Ok(Value::Object(keys)) => self.0.extend(keys),
            Ok(other) => {
                return Err(ConfigError::from(format!("section is not a table: {other}")));
            }
            Err(e) => return Err(ConfigError::from(e.to_string())),
        }
        Ok(self)
    }

    /// Unset values (`null`) are left out: TOML has no null.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        let mut value = Value::Object(self.0.clone());
        drop_nulls(&mut value);
        toml::to_string_pretty(&value).map_err(|e| ConfigError::from(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }
}

fn drop_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(drop_nulls);
    }
}
