//! `manifest.toml`: what a model takes, gives and how its inputs are prepared.
//!
//! The manifest sits beside `model.onnx`. Unknown keys are errors; the ONNX graph is
//! checked against it at load ([`crate::Encoder::load`]).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{InferError, Result};

/// File name of the manifest inside a model folder.
pub const MANIFEST_FILE: &str = "manifest.toml";
/// The fusion output whose channels `classes` names.
pub const CLASS_LOGITS: &str = "class_logits";

/// What the model is for (which stage of the pipeline runs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Image,
    Point,
    Text,
    Fusion,
}

/// Element type of an input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    I64,
    U8,
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::I64 => "i64",
            DType::U8 => "u8",
        })
    }
}

/// One dimension of a shape: fixed (`3`) or symbolic (`"batch"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(u64),
    Symbol(String),
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => f.write_str(s),
        }
    }
}

/// Formats a shape as `[1, 3, H, W]`.
pub fn shape_string(shape: &[Dim]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    pub shape: Vec<Dim>,
    pub dtype: DType,
    /// e.g. "NCHW", "NHWC", "NC" (informative; image preprocessing follows it).
    #[serde(default)]
    pub layout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub name: String,
    #[serde(default)]
    pub shape: Option<Vec<Dim>>,
    #[serde(default)]
    pub meaning: String,
    /// True when the output is L2-normalised along its last axis.
    #[serde(default)]
    pub normalised: bool,
    /// Feature-map stride in input pixels.
    #[serde(default)]
    pub stride: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Both axes scaled independently to the target size.
    #[default]
    Stretch,
    /// Aspect kept, scaled to fit inside, centred, borders filled with `pad`.
    Letterbox,
    /// Aspect kept, scaled to cover, centre cropped.
    Crop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    /// Half-pixel centres, edge clamped (cv2 INTER_LINEAR on float32 data).
    #[default]
    Bilinear,
    /// Pixel-area averaging (cv2 INTER_AREA on float32 data).
    Area,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    #[default]
    Rgb,
    Bgr,
}

/// Image preprocessing (MODEL_SPEC "image encoder").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePre {
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub resize: ResizeMode,
    #[serde(default)]
    pub interpolation: Interpolation,
    /// Per-channel mean in [0, 1] units (after /255), model channel order.
    #[serde(default = "zeros3")]
    pub mean: [f32; 3],
    #[serde(default = "ones3")]
    pub std: [f32; 3],
    #[serde(default)]
    pub channel_order: ChannelOrder,
    /// Model input element type: `f32` (normalised) or `u8` (raw pixels, no normalisation).
    #[serde(default = "f32_dtype")]
    pub input: DType,
    /// Letterbox fill, in pixel units 0..255 (before normalisation).
    #[serde(default)]
    pub pad: f32,
}

fn zeros3() -> [f32; 3] {
    [0.0; 3]
}
fn ones3() -> [f32; 3] {
    [1.0; 3]
}
fn f32_dtype() -> DType {
    DType::F32
}

/// Text preprocessing (MODEL_SPEC "text encoder").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPre {
    /// HuggingFace `tokenizer.json`, relative to the model folder.
    pub tokenizer: String,
    pub max_len: usize,
    #[serde(default)]
    pub pad_id: u32,
}

/// Pillar grid parameters (MODEL_SPEC "point painting + pillars").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointPre {
    pub x_range: [f32; 2],
    pub y_range: [f32; 2],
    pub z_range: [f32; 2],
    pub resolution: f32,
    pub max_pillars: usize,
    pub max_points_per_pillar: usize,
    pub features: usize,
    /// What fills a pillar's padding slots (MODEL_SPEC): `zero` (the default, PointPillars' convention) or
    /// `repeat` (the pillar's first point again, for a model whose max over the slots has no mask multiply).
    #[serde(default)]
    pub padding: PillarPadding,
}

/// Padding of the pillar slots past a pillar's real points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PillarPadding {
    /// All features 0.
    #[default]
    Zero,
    /// The pillar's first point repeated (all features); a max over the slots is then the max over the
    /// real points without a mask.
    Repeat,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    #[serde(default)]
    pub image: Option<ImagePre>,
    #[serde(default)]
    pub text: Option<TextPre>,
    #[serde(default)]
    pub point: Option<PointPre>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuantFormat {
    #[default]
    Fp32,
    F16,
    Int8Qdq,
    Int8Qop,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantization {
    #[serde(default)]
    pub format: QuantFormat,
    #[serde(default)]
    pub calibration: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    #[serde(default)]
    pub recipe: Option<String>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// How the network was made (architecture, teacher/student, training steps), free text.
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

/// Another file of the same model (e.g. `model.int8.onnx`); same inputs and outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    pub file: String,
    #[serde(default)]
    pub format: QuantFormat,
    #[serde(default)]
    pub calibration: Option<String>,
    /// Parity tolerance (max abs error) when it cannot be read from the graph's
    /// final DequantizeLinear (one quantization step).
    #[serde(default)]
    pub tolerance: Option<f32>,
}

/// A model's manifest (`manifest.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub role: Role,
    /// The fp32 (reference) model file, relative to the manifest; default `model.onnx`.
    #[serde(default = "default_file")]
    pub file: String,
    /// Class names by channel of the `class_logits` output (index 0 = background); required when a
    /// model has that output. The runtime's, the metrics' and the recipe's one class list.
    #[serde(default)]
    pub classes: Vec<String>,
    pub inputs: Vec<InputSpec>,
    #[serde(default)]
    pub preprocess: Preprocess,
    pub outputs: Vec<OutputSpec>,
    #[serde(default)]
    pub quantization: Quantization,
    #[serde(default)]
    pub provenance: Option<Provenance>,
    #[serde(default)]
    pub variants: Vec<Variant>,
}

fn default_file() -> String {
    "model.onnx".to_string()
}

impl Manifest {
    /// Parses manifest text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let m: Manifest = toml::from_str(text).map_err(|e| InferError::Manifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        m.check(path)?;
        Ok(m)
    }

    /// Reads `dir/manifest.toml`, or the file itself when `path` is a file.
    pub fn load(path: &Path) -> Result<(Manifest, PathBuf)> {
        let file = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let text =
            std::fs::read_to_string(&file).map_err(|e| InferError::io(&file, "reading manifest", e))?;
        Ok((Manifest::parse(&text, &file)?, file))
    }

    fn check(&self, path: &Path) -> Result<()> {
        let err = |message: String| InferError::Manifest {
            path: path.to_path_buf(),
            message,
        };
        if self.inputs.is_empty() {
            return Err(err("no [[inputs]]".into()));
        }
        if self.outputs.is_empty() {
            return Err(err("no [[outputs]]".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for n in self
            .inputs
            .iter()
            .map(|i| &i.name)
            .chain(self.outputs.iter().map(|o| &o.name))
        {
            if !seen.insert(n) {
                return Err(err(format!("tensor name {n:?} appears twice")));
            }
        }
        if let Some(img) = &self.preprocess.image {
            if img.width == 0 || img.height == 0 || img.width > 16384 || img.height > 16384 {
                return Err(err(format!(
                    "preprocess.image size {}x{} out of range",
                    img.width, img.height
                )));
            }
            if img.std.iter().any(|s| !s.is_finite() || *s == 0.0) {
                return Err(err(format!("preprocess.image std {:?} has a zero", img.std)));
            }
        }
        if let Some(t) = &self.preprocess.text {
            if t.max_len == 0 || t.max_len > 1 << 16 {
                return Err(err(format!("preprocess.text max_len {} out of range", t.max_len)));
            }
        }
        if let Some(out) = self.outputs.iter().find(|o| o.name == CLASS_LOGITS) {
            if self.classes.is_empty() {
                return Err(err(format!(
                    "output {CLASS_LOGITS:?} needs `classes = [...]`: the class name of each channel, \
                     background first"
                )));
            }
            if let Some(Dim::Fixed(channels)) = out.shape.as_ref().and_then(|s| s.get(1)) {
                if *channels as usize != self.classes.len() {
                    return Err(err(format!(
                        "`classes` names {} classes, output {CLASS_LOGITS:?} has {channels} channels",
                        self.classes.len()
                    )));
                }
            }
        }
        let mut unique = std::collections::BTreeSet::new();
        if let Some(c) = self
            .classes
            .iter()
            .find(|c| c.trim().is_empty() || !unique.insert(c.to_lowercase()))
        {
            return Err(err(format!("`classes`: {c:?} is empty or repeated")));
        }
        let mut names = std::collections::BTreeSet::new();
        for v in &self.variants {
            if v.name == "fp32" || !names.insert(&v.name) {
                return Err(err(format!("variant name {:?} is reserved or repeated", v.name)));
            }
        }
        Ok(())
    }

    /// The model file for a variant (`None`: the reference `file`).
    pub fn model_file(&self, dir: &Path, variant: Option<&str>, manifest_path: &Path) -> Result<PathBuf> {
        match variant {
            None => Ok(dir.join(&self.file)),
            Some(name) => match self.variants.iter().find(|v| v.name == name) {
                Some(v) => Ok(dir.join(&v.file)),
                None => Err(InferError::UnknownVariant {
                    path: manifest_path.to_path_buf(),
                    variant: name.to_string(),
                    known: self
                        .variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
name = "m"
role = "image"
[[inputs]]
name = "image"
shape = ["batch", 3, 192, 320]
dtype = "f32"
[[outputs]]
name = "embedding"
"#;

    #[test]
    fn parses_symbolic_and_fixed_dims() {
        let m = Manifest::parse(MIN, Path::new("m.toml")).unwrap();
        assert_eq!(m.inputs[0].shape[0], Dim::Symbol("batch".into()));
        assert_eq!(m.inputs[0].shape[3], Dim::Fixed(320));
        assert_eq!(m.file, "model.onnx");
        assert_eq!(m.quantization.format, QuantFormat::Fp32);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let text = MIN.replace("role = \"image\"", "role = \"image\"\nflavour = \"mint\"");
        let e = Manifest::parse(&text, Path::new("/x/manifest.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("flavour") && e.contains("/x/manifest.toml"), "{e}");
        let text = MIN.replace("dtype = \"f32\"", "dtype = \"f32\"\nlayuot = \"NCHW\"");
        let e = Manifest::parse(&text, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("layuot"), "{e}");
    }

    #[test]
    fn class_logits_need_one_class_name_per_channel() {
        let with = |classes: &str| {
            format!(
                "name = \"f\"\nrole = \"fusion\"\n{classes}\n[[inputs]]\nname = \"bev\"\nshape = [1, 4]\n\
                 dtype = \"f32\"\n[[outputs]]\nname = \"class_logits\"\nshape = [1, 3, 8, 8]\n"
            )
        };
        let m = Manifest::parse(
            &with(r#"classes = ["background", "car", "cyclist"]"#),
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(m.classes, ["background", "car", "cyclist"]);
        let e = Manifest::parse(&with(""), Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("classes") && e.contains("f.toml"), "{e}");
        let e = Manifest::parse(&with(r#"classes = ["background", "car"]"#), Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 classes") && e.contains("3 channels"), "{e}");
        let e = Manifest::parse(
            &with(r#"classes = ["background", "car", "Car"]"#),
            Path::new("m.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("repeated"), "{e}");
    }

    #[test]
    fn bad_enum_values_are_errors() {
        let text = MIN.replace("role = \"image\"", "role = \"radar\"");
        let e = Manifest::parse(&text, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("radar"), "{e}");
        let text = MIN.replace("\"f32\"", "\"f64\"");
        assert!(Manifest::parse(&text, Path::new("m.toml")).is_err());
    }

    #[test]
    fn full_manifest_with_all_sections() {
        let text = format!(
            "{MIN}{}",
            r#"
[preprocess.image]
width = 320
height = 192
resize = "letterbox"
interpolation = "area"
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
channel_order = "bgr"
input = "u8"
[quantization]
format = "int8-qdq"
calibration = "64 sim frames"
[provenance]
recipe = "models/recipes/sensorium_recipe/train.py"
seed = 3
metrics = { occupancy_iou = 0.41 }
[[variants]]
name = "int8"
file = "model.int8.onnx"
format = "int8-qdq"
"#
        );
        let m = Manifest::parse(&text, Path::new("m.toml")).unwrap();
        let img = m.preprocess.image.as_ref().unwrap();
        assert_eq!(img.resize, ResizeMode::Letterbox);
        assert_eq!(img.interpolation, Interpolation::Area);
        assert_eq!(img.channel_order, ChannelOrder::Bgr);
        assert_eq!(m.quantization.format, QuantFormat::Int8Qdq);
        assert_eq!(m.provenance.as_ref().unwrap().metrics["occupancy_iou"], 0.41);
        let f = m
            .model_file(Path::new("/d"), Some("int8"), Path::new("m.toml"))
            .unwrap();
        assert_eq!(f, Path::new("/d/model.int8.onnx"));
        let e = m
            .model_file(Path::new("/d"), Some("f16"), Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("f16") && e.contains("int8"), "{e}");
    }

    #[test]
    fn pillar_padding_defaults_to_zero_and_names_a_bad_value() {
        let point = |extra: &str| {
            format!(
                "{MIN}\n[preprocess.point]\nx_range = [0.0, 48.0]\ny_range = [-24.0, 24.0]\n\
                 z_range = [-3.0, 4.0]\nresolution = 0.5\nmax_pillars = 6000\n\
                 max_points_per_pillar = 16\nfeatures = 42\n{extra}"
            )
        };
        let pad = |extra: &str| {
            Manifest::parse(&point(extra), Path::new("m.toml")).map(|m| m.preprocess.point.map(|p| p.padding))
        };
        assert_eq!(pad("").unwrap(), Some(PillarPadding::Zero));
        assert_eq!(pad("padding = \"zero\"").unwrap(), Some(PillarPadding::Zero));
        assert_eq!(pad("padding = \"repeat\"").unwrap(), Some(PillarPadding::Repeat));
        let e = pad("padding = \"mirror\"").unwrap_err().to_string();
        assert!(e.contains("mirror") && e.contains("m.toml"), "{e}");
    }
}
