//! Text preprocessing (MODEL_SPEC "text encoder"): HuggingFace tokenizer → fixed-length
//! ids and mask; and an LRU cache of text embeddings for repeated map strings.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::encoder::Encoder;
use crate::error::{InferError, Result};
use crate::manifest::TextPre;
use crate::tensor::Tensor;

/// A `tokenizer.json` with the manifest's length and padding.
pub struct TextTokenizer {
    tokenizer: tokenizers::Tokenizer,
    max_len: usize,
    pad_id: u32,
    path: PathBuf,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("path", &self.path)
            .field("max_len", &self.max_len)
            .finish()
    }
}

/// Token ids and attention mask, both `max_len` long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<i64>,
    pub mask: Vec<i64>,
}

impl TextTokenizer {
    /// Loads `dir/<pre.tokenizer>`.
    pub fn load(dir: &Path, pre: &TextPre) -> Result<TextTokenizer> {
        let path = dir.join(&pre.tokenizer);
        let bytes = std::fs::read(&path).map_err(|e| InferError::io(&path, "reading tokenizer", e))?;
        let tokenizer = tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| InferError::Tokenizer {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(TextTokenizer {
            tokenizer,
            max_len: pre.max_len,
            pad_id: pre.pad_id,
            path,
        })
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Tokenizes `text` (no special tokens added), truncates to `max_len` and pads with `pad_id`.
    pub fn encode(&self, text: &str) -> Result<Tokens> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| InferError::Tokenizer {
                path: self.path.clone(),
                message: format!("{text:?}: {e}"),
            })?;
        // a tokenizer.json may pad by itself (the recipe's pads to max_len): its padding tokens are not
        // attended, so the mask comes from the encoding, not from the number of ids
        let mut ids: Vec<i64> = Vec::with_capacity(self.max_len);
        let mut mask: Vec<i64> = Vec::with_capacity(self.max_len);
        for (&id, &m) in enc
            .get_ids()
            .iter()
            .zip(enc.get_attention_mask())
            .take(self.max_len)
        {
            ids.push(if m == 0 { self.pad_id as i64 } else { id as i64 });
            mask.push(i64::from(m != 0));
        }
        ids.resize(self.max_len, self.pad_id as i64);
        mask.resize(self.max_len, 0);
        Ok(Tokens { ids, mask })
    }
}

/// Text encoder + tokenizer + bounded LRU cache of embeddings keyed by the string.
pub struct TextEmbedder {
    encoder: Encoder,
    tokenizer: TextTokenizer,
    cache: Mutex<lru::LruCache<String, Arc<Vec<f32>>>>,
    stats: Mutex<(u64, u64)>,
}

impl TextEmbedder {
    /// Wraps a loaded text encoder (role `text`, `[preprocess.text]`, inputs ids then mask).
    pub fn new(encoder: Encoder, capacity: usize) -> Result<TextEmbedder> {
        let m = encoder.manifest();
        let bad = |message: String| InferError::Manifest {
            path: encoder.manifest_path().to_path_buf(),
            message,
        };
        let pre = m
            .preprocess
            .text
            .as_ref()
            .ok_or_else(|| bad("text encoder without [preprocess.text]".into()))?;
        if m.inputs.len() != 2 {
            return Err(bad(format!(
                "text encoder takes {} inputs, expected ids and mask",
                m.inputs.len()
            )));
        }
        let dir = encoder
            .manifest_path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let tokenizer = TextTokenizer::load(&dir, pre)?;
        let cap = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Ok(TextEmbedder {
            encoder,
            tokenizer,
            cache: Mutex::new(lru::LruCache::new(cap)),
            stats: Mutex::new((0, 0)),
        })
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The embedding of `text` (first manifest output), from the cache when seen recently.
    pub fn embed(&self, text: &str) -> Result<Arc<Vec<f32>>> {
        if let Some(v) = self.cache.lock().ok().and_then(|mut c| c.get(text).cloned()) {
            if let Ok(mut s) = self.stats.lock() {
                s.0 += 1;
            }
            return Ok(v);
        }
        let t = self.tokenizer.encode(text)?;
        let l = self.tokenizer.max_len;
        let out = self.encoder.run(vec![
            Tensor::i64(vec![1, l], t.ids),
            Tensor::i64(vec![1, l], t.mask),
        ])?;
        let first = out.0.into_iter().next().map(|o| o.data).unwrap_or_default();
        let v = Arc::new(first);
        if let Ok(mut c) = self.cache.lock() {
            c.put(text.to_string(), v.clone());
        }
        if let Ok(mut s) = self.stats.lock() {
            s.1 += 1;
        }
        Ok(v)
    }

    /// (cache hits, misses) so far.
    pub fn cache_stats(&self) -> (u64, u64) {
        self.stats.lock().map(|s| *s).unwrap_or((0, 0))
    }
}
