//! Vectors of texts that are embedded again and again (agent examples, background sentences,
//! the messages of quality-check test cases), kept by model, input type and text: in memory,
//! and in a directory when one is configured, so that a restart or a changed agent only embeds
//! what is new.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::ProviderError;
use super::embeddings::{EmbeddingsClient, InputType};

/// Texts per embeddings request when filling the cache (what the client's batching takes in
/// one call): each chunk is kept as soon as it is embedded.
const CHUNK: usize = 128;

pub struct VectorCache {
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<[u8; 32], Vec<f32>>>,
}

impl VectorCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        if let Some(dir) = &dir
            && let Err(err) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(dir = %dir.display(), %err, "embeddings cache directory not usable");
        }
        Self { dir, memory: Mutex::new(HashMap::new()) }
    }

    /// One vector per text, from the cache where possible. Processes sharing the directory
    /// (replicas, parallel tests) fill it one at a time, so the others read what the first
    /// embedded instead of embedding it again: for a catalogue of many texts.
    pub async fn embed(
        &self,
        client: &EmbeddingsClient,
        texts: &[String],
        input_type: InputType,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        self.fill(client, texts, input_type, true).await
    }

    /// Like [`embed`](Self::embed), but without the directory lock: for the few sentences of
    /// one message, which concurrent replays embed at once. Under the lock they would embed
    /// one after another instead of sharing calls ([`super::batch`]); two processes embedding
    /// the same message now and then cost less than that.
    pub async fn embed_unlocked(
        &self,
        client: &EmbeddingsClient,
        texts: &[String],
        input_type: InputType,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        self.fill(client, texts, input_type, false).await
    }

    async fn fill(
        &self,
        client: &EmbeddingsClient,
        texts: &[String],
        input_type: InputType,
        locked: bool,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let keys: Vec<[u8; 32]> =
            texts.iter().map(|t| key(client.model(), input_type, t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = keys.iter().map(|k| self.get(k)).collect();
        if out.iter().all(Option::is_some) {
            return Ok(out.into_iter().map(Option::unwrap_or_default).collect());
        }
        let _lock = if locked { self.lock().await } else { None };
        if locked {
            // Another process may have filled them while we waited.
            for (i, slot) in out.iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = self.get(&keys[i]);
                }
            }
        }
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        for chunk in missing.chunks(CHUNK) {
            let batch: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
            let vectors = client.embed(&batch, input_type).await?;
            for (&i, vector) in chunk.iter().zip(vectors) {
                self.put(&keys[i], &vector);
                out[i] = Some(vector);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// An exclusive lock on the directory, released when the file drops; none without one.
    async fn lock(&self) -> Option<std::fs::File> {
        let path = self.dir.as_ref()?.join(".lock");
        let locked = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::create(&path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await;
        match locked {
            Ok(Ok(file)) => Some(file),
            Ok(Err(err)) => {
                tracing::warn!(%err, "embeddings cache not locked; filling it without");
                None
            }
            Err(_) => None,
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Vec<f32>> {
        if let Some(v) = self.memory.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Some(v.clone());
        }
        let bytes = std::fs::read(self.path(key)?).ok()?;
        if bytes.is_empty() || bytes.len() % 4 != 0 {
            return None;
        }
        let vector: Vec<f32> =
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).insert(*key, vector.clone());
        Some(vector)
    }

    fn put(&self, key: &[u8; 32], vector: &[f32]) {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).insert(*key, vector.to_vec());
        let Some(path) = self.path(key) else { return };
        let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
        // Written beside and renamed, so a reader never sees half a vector.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path)).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    fn path(&self, key: &[u8; 32]) -> Option<PathBuf> {
        let name: String = key.iter().map(|b| format!("{b:02x}")).collect();
        Some(self.dir.as_ref()?.join(format!("{name}.f32")))
    }
}

fn key(model: &str, input_type: InputType, text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(model.as_bytes());
    h.update([0]);
    h.update(match input_type {
        InputType::Query => b"q",
        InputType::Passage => b"p",
    });
    h.update([0]);
    h.update(text.as_bytes());
    h.finalize().into()
}
