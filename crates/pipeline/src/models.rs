//! The four encoders the pipeline runs, loaded from a models folder by role.
//!
//! This is the only module that speaks to `sensorium-infer`: the rest of the pipeline sees
//! plain slices in and out.

use anyhow::{anyhow, bail, Context, Result};
use sensorium_fusion::{BevGrid, PillarConfig};
use sensorium_infer::manifest::{ImagePre, Role};
use sensorium_infer::{tune, Encoder, LoadOptions, Outputs, Tensor, TextEmbedder};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use sensorium_infer::Backend;

/// One loaded encoder per role.
pub struct Models {
    pub image: Encoder,
    pub point: Encoder,
    /// Text encoder + tokenizer + LRU cache of embeddings per string.
    pub text: TextEmbedder,
    pub fusion: Encoder,
    pub dir: PathBuf,
    /// What runs each model and why ("image_encoder: onnxruntime int8, 2 threads (tuned 0.95 ms)").
    pub choices: Vec<String>,
}

/// Which engine, file and threads run the models. `None` fields are `auto`: the fastest passing
/// choice that `sensorium models tune` recorded for this machine and these model files, else the
/// defaults (tract; fp32 on x86-64, else int8: [`default_variant`]).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub backend: Option<Backend>,
    /// `Some("fp32")` = the manifest's main file.
    pub variant: Option<String>,
    /// Thread budget of the encoders (a tuned choice never uses more).
    pub threads: usize,
    /// Cache folder (tract's optimized models, the tune file); `None` = the default.
    pub cache_dir: Option<PathBuf>,
}

impl Selection {
    /// Pinned variant and thread budget, tract unless tuned otherwise.
    pub fn new(variant: Option<&str>, threads: usize) -> Selection {
        Selection {
            variant: variant.map(str::to_string),
            threads,
            ..Default::default()
        }
    }

    /// What to load for the model in `dir`: pinned fields win; `auto` fields come from the fastest
    /// tuned candidate compatible with the pinned ones and the thread budget.
    fn resolve(&self, tuned: &tune::TuneFile, dir: &Path) -> (Backend, Option<String>, usize, String) {
        let budget = self.threads.max(1);
        let key = tune::model_key(dir).ok();
        let best = key.as_ref().and_then(|k| tuned.models.get(k)).and_then(|m| {
            m.candidates
                .iter()
                .filter(|c| c.pass && c.median_ms.is_some() && c.threads <= budget)
                .filter(|c| self.backend.is_none_or(|b| b == c.backend))
                .filter(|c| self.variant.as_deref().is_none_or(|v| v == c.variant))
                .min_by(|a, b| {
                    a.median_ms
                        .unwrap_or(f64::MAX)
                        .total_cmp(&b.median_ms.unwrap_or(f64::MAX))
                })
                .cloned()
        });
        match best {
            Some(c) if self.backend.is_none() || self.variant.is_none() => {
                let why = format!("tuned {:.2} ms", c.median_ms.unwrap_or(f64::NAN));
                (c.backend, Some(c.variant), c.threads, why)
            }
            _ => (
                self.backend.unwrap_or_default(),
                Some(
                    self.variant
                        .clone()
                        .unwrap_or_else(|| default_variant(self.backend.unwrap_or_default()).into()),
                ),
                budget,
                if self.backend.is_some() && self.variant.is_some() {
                    "pinned".into()
                } else {
                    "default (no tuned choice)".into()
                },
            ),
        }
    }
}

/// The variant an untuned `auto` runs on `backend`: int8, except tract on x86-64, whose int8 kernels
/// were measured slower than its fp32 ones there (`sensorium bench`: fusion 32.5 against 17.2 ms on one
/// thread, and the 10 Hz full pipeline's p99 110 against 86 ms); `sensorium models tune` measures
/// each machine instead.
pub fn default_variant(backend: Backend) -> &'static str {
    if backend == Backend::Tract && cfg!(target_arch = "x86_64") {
        "fp32"
    } else {
        "int8"
    }
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("dir", &self.dir)
            .field("image", &self.image)
            .field("point", &self.point)
            .field("fusion", &self.fusion)
            .finish()
    }
}

/// Output of the image encoder.
#[derive(Debug, Clone, Default)]
pub struct ImageOut {
    /// `[C, H, W]` feature map.
    pub features: Vec<f32>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub embedding: Vec<f32>,
}

/// Output of the fusion model.
#[derive(Debug, Clone, Default)]
pub struct FusionOut {
    pub scene_embedding: Vec<f32>,
    pub bev_features: Vec<f32>,
    pub bev_channels: usize,
    pub occupancy_logits: Vec<f32>,
    pub class_logits: Vec<f32>,
    pub classes: usize,
}

fn take(outs: &mut Outputs, name: &str, model: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let i = outs
        .0
        .iter()
        .position(|o| o.name == name)
        .ok_or_else(|| anyhow!("{}: no output `{name}`", model.display()))?;
    let o = outs.0.swap_remove(i);
    Ok((o.shape, o.data))
}

/// Orders named inputs as the manifest lists them.
fn run_named(enc: &Encoder, mut named: Vec<(&str, Tensor)>) -> Result<Outputs> {
    let mut ordered = Vec::with_capacity(named.len());
    for spec in &enc.manifest().inputs {
        let i = named.iter().position(|(n, _)| *n == spec.name).ok_or_else(|| {
            anyhow!(
                "{}: the pipeline does not provide input `{}`",
                enc.model_path().display(),
                spec.name
            )
        })?;
        ordered.push(named.swap_remove(i).1);
    }
    enc.run(ordered)
        .with_context(|| format!("running {}", enc.model_path().display()))
}

impl Models {
    /// Loads every model under `dir` and assigns them by manifest role (exactly one per role).
    pub fn load(dir: &Path, sel: &Selection) -> Result<Models> {
        let mut found: Vec<(Role, Encoder)> = Vec::new();
        let rd = std::fs::read_dir(dir).with_context(|| format!("models folder {}", dir.display()))?;
        let mut subdirs: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("manifest.toml").is_file())
            .collect();
        subdirs.sort();
        let tuned = if sel.backend.is_none() || sel.variant.is_none() {
            tune::load(sel.cache_dir.as_deref())
        } else {
            tune::TuneFile::default()
        };
        let mut choices = Vec::new();
        for sub in subdirs {
            let (backend, variant, threads, why) = sel.resolve(&tuned, &sub);
            let mut opts = LoadOptions {
                backend,
                threads,
                cache_dir: sel.cache_dir.clone(),
                ..Default::default()
            };
            opts.variant = variant.filter(|v| v != "fp32");
            let enc = match Encoder::load(&sub, &opts) {
                Ok(e) => e,
                // a model without this variant falls back to its main (fp32) file
                Err(e) if opts.variant.is_some() && e.to_string().contains("variant") => {
                    opts.variant = None;
                    Encoder::load(&sub, &opts).with_context(|| format!("loading {}", sub.display()))?
                }
                Err(e) => return Err(anyhow!(e)).with_context(|| format!("loading {}", sub.display())),
            };
            let c = format!(
                "{}: {backend} {}, {threads} thread(s) ({why})",
                enc.manifest().name,
                opts.variant.as_deref().unwrap_or("fp32")
            );
            tracing::info!("{c}");
            choices.push(c);
            found.push((enc.manifest().role, enc));
        }
        let mut pick = |role: Role| -> Result<Encoder> {
            let n = found.iter().filter(|(r, _)| *r == role).count();
            if n != 1 {
                bail!(
                    "{}: expected exactly one model with role {role:?}, found {n}",
                    dir.display()
                );
            }
            let i = found.iter().position(|(r, _)| *r == role).unwrap_or(0);
            Ok(found.swap_remove(i).1)
        };
        Ok(Models {
            image: pick(Role::Image)?,
            point: pick(Role::Point)?,
            text: TextEmbedder::new(pick(Role::Text)?, 4096)?,
            fusion: pick(Role::Fusion)?,
            dir: dir.to_path_buf(),
            choices,
        })
    }

    /// Class names by channel of the fusion model's `class_logits` (its manifest's `classes`).
    pub fn classes(&self) -> &[String] {
        &self.fusion.manifest().classes
    }

    pub fn image_pre(&self) -> Result<&ImagePre> {
        self.image
            .manifest()
            .preprocess
            .image
            .as_ref()
            .ok_or_else(|| anyhow!("{}: no [preprocess.image]", self.image.manifest_path().display()))
    }

    /// Pillar configuration from the point encoder's manifest.
    pub fn pillar_config(&self, painted: usize) -> Result<PillarConfig> {
        let p = self
            .point
            .manifest()
            .preprocess
            .point
            .as_ref()
            .ok_or_else(|| anyhow!("{}: no [preprocess.point]", self.point.manifest_path().display()))?;
        let cfg = PillarConfig {
            grid: BevGrid {
                x_min: p.x_range[0],
                x_max: p.x_range[1],
                y_min: p.y_range[0],
                y_max: p.y_range[1],
                z_min: p.z_range[0],
                z_max: p.z_range[1],
                res: p.resolution,
            },
            max_pillars: p.max_pillars,
            max_points: p.max_points_per_pillar,
            painted,
            repeat_padding: p.padding == sensorium_infer::manifest::PillarPadding::Repeat,
        };
        if cfg.features() != p.features {
            bail!(
                "{}: features = {} but {} geometric + {} painted = {}",
                self.point.manifest_path().display(),
                p.features,
                sensorium_fusion::pillars::GEOMETRIC_FEATURES,
                painted,
                cfg.features()
            );
        }
        Ok(cfg)
    }

    /// Runs the image encoder on a preprocessed `[3, H, W]` tensor.
    pub fn run_image(&self, chw: Vec<f32>, h: usize, w: usize) -> Result<ImageOut> {
        let mut outs = run_named(&self.image, vec![("image", Tensor::f32(vec![1, 3, h, w], chw))])?;
        let p = self.image.model_path();
        let (shape, features) = take(&mut outs, "features", p)?;
        let (_, embedding) = take(&mut outs, "embedding", p)?;
        let [_, c, fh, fw] = shape[..] else {
            bail!("{}: features shape {shape:?} is not [1, C, H, W]", p.display())
        };
        Ok(ImageOut {
            features,
            channels: c,
            height: fh,
            width: fw,
            embedding,
        })
    }

    /// True when the point encoder takes any number of pillars (symbolic P in `pillars`).
    pub fn point_takes_any_pillars(&self) -> bool {
        self.point
            .manifest()
            .inputs
            .iter()
            .find(|i| i.name == "pillars")
            .and_then(|i| i.shape.get(2))
            .is_some_and(|d| matches!(d, sensorium_infer::manifest::Dim::Symbol(_)))
    }

    /// Runs the point encoder on the first `used` pillars of the `[1, F, P, N]` tensor and
    /// `[1, 1, P, N]` mask; returns `(C, features)` with features laid out `[C, P]` (P = max pillars,
    /// zeros beyond `used`). With a symbolic P only the used pillars are computed.
    pub fn run_point(
        &self,
        cfg: &PillarConfig,
        pillars: &[f32],
        mask: &[f32],
        used: usize,
    ) -> Result<(usize, Vec<f32>)> {
        let (f, p_max, n) = (cfg.features(), cfg.max_pillars, cfg.max_points);
        let p = if self.point_takes_any_pillars() {
            used.max(1)
        } else {
            p_max
        };
        let (pt, mt) = if p == p_max {
            (pillars.to_vec(), mask.to_vec())
        } else {
            let plane = p_max * n;
            let mut pt = Vec::with_capacity(f * p * n);
            for ch in 0..f {
                pt.extend_from_slice(&pillars[ch * plane..ch * plane + p * n]);
            }
            (pt, mask[..p * n].to_vec())
        };
        let mut outs = run_named(
            &self.point,
            vec![
                ("pillars", Tensor::f32(vec![1, f, p, n], pt)),
                ("mask", Tensor::f32(vec![1, 1, p, n], mt)),
            ],
        )?;
        let (shape, data) = take(&mut outs, "pillar_features", self.point.model_path())?;
        let c = shape.get(1).copied().unwrap_or(0);
        if p == p_max {
            return Ok((c, data));
        }
        let mut full = vec![0.0f32; c * p_max];
        for ch in 0..c {
            if let (Some(dst), Some(src)) = (
                full.get_mut(ch * p_max..ch * p_max + p),
                data.get(ch * p..ch * p + p),
            ) {
                dst.copy_from_slice(src);
            }
        }
        Ok((c, full))
    }

    /// Text embedding of `text` (cached per string).
    pub fn embed_text(&self, text: &str) -> Result<Arc<Vec<f32>>> {
        Ok(self.text.embed(text)?)
    }

    /// Shape of the fusion model's `text` input: (slots, dim).
    pub fn text_slots(&self) -> Result<(usize, usize)> {
        let spec = self
            .fusion
            .manifest()
            .inputs
            .iter()
            .find(|i| i.name == "text")
            .ok_or_else(|| {
                anyhow!(
                    "{}: fusion model has no `text` input",
                    self.fusion.manifest_path().display()
                )
            })?;
        let dims: Vec<usize> = spec
            .shape
            .iter()
            .map(|d| match d {
                sensorium_infer::manifest::Dim::Fixed(n) => *n as usize,
                sensorium_infer::manifest::Dim::Symbol(_) => 0,
            })
            .collect();
        match dims[..] {
            [_, s, d] if s > 0 && d > 0 => Ok((s, d)),
            _ => bail!(
                "{}: fusion `text` input must be [1, S, D] with fixed S and D",
                self.fusion.manifest_path().display()
            ),
        }
    }

    /// Runs the fusion model.
    pub fn run_fusion(
        &self,
        bev: Vec<f32>,
        bev_shape: [usize; 3],
        image: &ImageOut,
        text: Vec<f32>,
        text_mask: Vec<f32>,
    ) -> Result<FusionOut> {
        let (slots, dim) = self.text_slots()?;
        let [c, h, w] = bev_shape;
        let mut outs = run_named(
            &self.fusion,
            vec![
                ("bev", Tensor::f32(vec![1, c, h, w], bev)),
                (
                    "image_features",
                    Tensor::f32(
                        vec![1, image.channels, image.height, image.width],
                        image.features.clone(),
                    ),
                ),
                ("text", Tensor::f32(vec![1, slots, dim], text)),
                ("text_mask", Tensor::f32(vec![1, slots], text_mask)),
            ],
        )?;
        let p = self.fusion.model_path();
        let (_, scene_embedding) = take(&mut outs, "scene_embedding", p)?;
        let (bshape, bev_features) = take(&mut outs, "bev_features", p)?;
        let (_, occupancy_logits) = take(&mut outs, "occupancy", p)?;
        let (cshape, class_logits) = take(&mut outs, "class_logits", p)?;
        Ok(FusionOut {
            scene_embedding,
            bev_features,
            bev_channels: bshape.get(1).copied().unwrap_or(0),
            occupancy_logits,
            class_logits,
            classes: cshape.get(1).copied().unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untuned_auto_runs_the_default_variant_of_its_backend_and_pins_win() {
        let tuned = tune::TuneFile::default();
        let dir = Path::new("models/point_encoder");
        let (b, v, threads, why) = Selection::new(None, 2).resolve(&tuned, dir);
        let want = if cfg!(target_arch = "x86_64") {
            "fp32"
        } else {
            "int8"
        };
        assert_eq!((b, v.as_deref(), threads), (Backend::Tract, Some(want), 2));
        assert!(why.starts_with("default"), "{why}");
        let ort = Selection {
            backend: Some(Backend::OnnxRuntime),
            ..Selection::new(None, 1)
        };
        assert_eq!(ort.resolve(&tuned, dir).1.as_deref(), Some("int8"));
        let (_, v, _, why) = Selection {
            backend: Some(Backend::Tract),
            ..Selection::new(Some("int8"), 1)
        }
        .resolve(&tuned, dir);
        assert_eq!((v.as_deref(), why.as_str()), (Some("int8"), "pinned"));
    }
}
