//! How secrets leave a configuration struct: as `********` wherever it is printed, and as
//! themselves only while the loader turns compiled-in defaults into its lowest layer.
//!
//! `SecretString` has no `Serialize` on purpose, so a secret field that forgets
//! `#[serde(serialize_with = "secret::serialize")]` does not compile.

use std::cell::Cell;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Serializer;

/// What a secret prints as.
pub const MASK: &str = "********";

thread_local! {
    static REVEAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with secrets serializing as their values.
pub(crate) fn revealed<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            REVEAL.with(|r| r.set(self.0));
        }
    }
    let _reset = Reset(REVEAL.with(|r| r.replace(true)));
    f()
}

/// For `#[serde(serialize_with = "…")]` on a `SecretString` field.
pub fn serialize<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    if REVEAL.with(Cell::get) {
        serializer.serialize_str(secret.expose_secret())
    } else {
        serializer.serialize_str(MASK)
    }
}

/// For `#[serde(serialize_with = "…")]` on an `Option<SecretString>` field: unset stays unset.
pub fn serialize_option<S: Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serialize(secret, serializer),
        None => serializer.serialize_none(),
    }
}
