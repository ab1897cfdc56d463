//! Command-line interface: the public contract scripts rely on. Extend, never rename.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "sensorium",
    version,
    about = "Edge perception runtime: camera + LiDAR + map text → fused scene (ROS1 node and replay tool)",
    long_about = "sensorium ingests camera frames, LiDAR point clouds and map text from ROS topics or rosbag \
recordings, runs int8/fp32 ONNX encoders through tract, fuses them into a bird's-eye-view scene with a \
text-aligned embedding, and publishes it.\n\nStart with:\n  sensorium replay                # the bundled sample with the bundled models\n  sensorium bag info my.bag       # what is in a recording\n  sensorium config show           # the effective configuration and where each value came from",
    after_help = "Configuration layers: built-in defaults < --config FILE < SENSORIUM__SECTION__KEY env vars < flags.\nLogging: RUST_LOG=debug, --log-format json."
)]
pub struct Cli {
    /// Log format: `human` (default) or `json` (one JSON object per line on stderr).
    #[arg(long, global = true, value_parser = ["human", "json"])]
    pub log_format: Option<String>,
    /// More logging (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Play a rosbag through the whole pipeline and summarise (no ROS master needed).
    #[command(
        after_help = "Examples:\n  sensorium replay                                  # bundled sample, bundled models\n  sensorium replay drive.bag --fast --summary-json s.json --out out/\n  sensorium replay drive.bag --rate 0.5 --start 10 --duration 30\n  sensorium replay drive.mcap --fast                 # ROS 2: an MCAP file, a .db3 or a rosbag2 folder\n  sensorium replay --recordings fleet/ --shard 3/8 --fast --out runs/r1/   # index 3 of 8 (one Kubernetes Indexed Job pod)\n  sensorium replay --recordings fleet.txt --shard 0/4 --dry-run            # what index 0 of 4 replays\n\nExit codes (stable; with --recordings, the first failing recording's, a damaged recording's 3 only when\nnothing else failed):\n  0  replayed\n  1  other runtime error (worth a retry)\n  2  usage or configuration error (flags, --config, --shard, the recordings list)\n  3  recording missing, unreadable or damaged\n  4  models could not be loaded\n  5  calibration could not be loaded\n  6  output could not be written\n  130  stopped by SIGINT/SIGTERM (one recording: its outputs hold what was read and are closed; with\n       --recordings, the interrupted recording is left without summary.json and replayed on resume)"
    )]
    Replay(ReplayArgs),
    /// Run as a ROS 1 or ROS 2 node (subscribe to sensors, publish scenes).
    #[command(
        after_help = "Examples:\n  ROS_MASTER_URI=http://localhost:11311 sensorium node --config vehicle.toml\n  ROS_DOMAIN_ID=7 sensorium node --ros2 --config vehicle.toml   # ROS 2 (DDS): nothing to source\n  sensorium node --ros2 --ros-args -r __ns:=/car1 -p engine.deadline_ms:=80 --params-file launch/params_ros2.yaml\n\nOn exit (SIGINT/SIGTERM) the node prints its run report on stdout as key=value lines: framesets,\nscenes, modalities_<kind>, received_<role>, dropped_<reason>, latency_p50_ms, latency_p99_ms.\nExit status 3: the ROS master restarted (roslaunch's respawn starts the node again)."
    )]
    Node(NodeArgs),
    /// Benchmark every stage against its peer (OpenCV, numpy, PCL, onnxruntime, message_filters).
    #[command(
        after_help = "Examples:\n  sensorium bench --quick --json bench.json\n  sensorium bench --json bench.json --update-docs      # full run (about 20 min), regenerates BENCHMARKS.md\n  sensorium bench --only encoders,engine\n  sensorium bench --from-json bench.json --update-docs  # regenerate the docs from a saved run"
    )]
    Bench(BenchArgs),
    /// Calibration tools: project a cloud into an image, check a recording for bumped sensors.
    #[command(subcommand)]
    Calib(CalibCommand),
    /// Model tools: parity check against goldens, tuning.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Recording tools: info, export.
    #[command(subcommand)]
    Bag(BagCommand),
    /// Generate a deterministic synthetic driving recording with ground truth.
    #[command(
        after_help = "Examples:\n  sensorium sim --out sim.bag --frames 100 --seed 7\n  sensorium sim --out sim.mcap --format mcap --frames 100 --seed 7   # ROS 2 (MCAP)\n  sensorium sim --out sim.bag --frames 50 --seed 1 --export-training data/"
    )]
    Sim(SimArgs),
    /// Score the pipeline on a labelled real dataset: a KITTI object directory or an Argoverse 2 log.
    #[command(
        after_help = "Examples:\n  sensorium eval --dataset kitti data/object/training --json kitti.json\n  sensorium eval --dataset av2 av2/sensor/val/LOG_ID --json av2.json --out av2_scenes/\n\nEach frame runs through the same perception as replay (models, calibration, painting, fusion, object\nextraction). A scene object matches an unmatched label of its class whose centre is within 2 m (car,\ntruck) or 1 m (pedestrian, cyclist, cone), within 40 m and inside the BEV grid; KITTI scores only\ncamera 2's field of view (its labels cover no more). JSON: metrics.objects.<class>.{recall,precision},\nmetrics.grid.<class>.recall.\n\nExit codes: 0 scored, 2 usage/configuration, 3 dataset missing or unreadable (no frame could be read),\n4 models, 6 output."
    )]
    Eval(EvalArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run only the synchronizer over a bag and write the matched sets (for parity checks).
    #[command(
        after_help = "Example:\n  sensorium sync run.bag --topics /camera/image_raw,/lidar/points --policy approximate --queue 10 --max-interval 0.05 --jsonl sets.jsonl"
    )]
    Sync(SyncArgs),
}

/// Options shared by commands that run the pipeline.
#[derive(Args, Debug, Clone, Default)]
pub struct PipelineOpts {
    /// Configuration file (TOML, YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Models folder (overrides `models.dir`).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Calibration folder (overrides `calibration.dir`).
    #[arg(long, value_name = "DIR")]
    pub calib: Option<PathBuf>,
    /// Model variant: fp32, int8 or auto (overrides `models.variant`).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Inference backend: tract, onnxruntime or auto (overrides `models.backend`).
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<String>,
    /// Worker threads (overrides `engine.threads`).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Frame-set deadline in ms (overrides `engine.deadline_ms`).
    #[arg(long, value_name = "MS")]
    pub deadline_ms: Option<f64>,
    /// Sync policy: approximate, slop, exact, latest (overrides `sync.policy`).
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<String>,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Recording to play: a ROS1 bag, an MCAP file, a rosbag2 sqlite3 file (.db3) or a rosbag2 folder;
    /// default: the bundled sample (tests/fixtures/sample.bag).
    #[arg(conflicts_with = "recordings")]
    pub bag: Option<PathBuf>,
    /// Many recordings: a folder (every *.bag, *.mcap and *.db3 below it, and rosbag2 folders; links to
    /// folders followed) or a list file
    /// (one path per line, relative to the list's folder; lines starting with `#` are comments).
    /// Each is replayed into OUT/NAME/ (summary.json, scenes.jsonl, PNGs), NAME its file stem (its
    /// path with `__` for `/` where stems repeat; `_` in front of a name starting with `.` or equal
    /// to report.html or report.json); a recording whose OUT/NAME/summary.json exists is skipped, a
    /// failed one leaves OUT/NAME/error.json.
    #[arg(long, value_name = "DIR_OR_LIST", conflicts_with_all = ["summary_json", "record"])]
    pub recordings: Option<PathBuf>,
    /// With --recordings: replay only the recordings whose index in sorted order is I modulo N
    /// (Kubernetes Indexed Jobs: `--shard $(JOB_COMPLETION_INDEX)/N`; AWS Batch: AWS_BATCH_JOB_ARRAY_INDEX).
    #[arg(long, value_name = "I/N", requires = "recordings", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// With --recordings: print this shard's recordings (NAME, a tab, PATH per line) and replay nothing.
    #[arg(long, requires = "recordings")]
    pub dry_run: bool,
    /// As fast as the pipeline goes (evaluation), ignoring the bag clock.
    #[arg(long, conflicts_with = "rate")]
    pub fast: bool,
    /// Playback rate on the bag clock (1.0 = real time).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Start this many seconds into the bag.
    #[arg(long, value_name = "SECS")]
    pub start: Option<f64>,
    /// Play only this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Topic remaps FROM:=TO (e.g. /kitti/points:=/lidar/points), comma separated.
    #[arg(long, value_name = "REMAPS", value_delimiter = ',')]
    pub topics: Vec<String>,
    /// Write scenes (scenes.jsonl) and PNG renderings here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Which scenes to render as PNG into --out: `all`, `none` or a count N (every k-th so N are written).
    #[arg(long, value_name = "WHICH", default_value = "8")]
    pub render: String,
    /// Write the run summary as JSON.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Record what the pipeline publishes into an lz4 bag, as the node publishes it:
    /// /sensorium/scene (sensorium_msgs/Scene), /sensorium/occupancy (nav_msgs/OccupancyGrid),
    /// /sensorium/markers (visualization_msgs/MarkerArray), plus
    /// /sensorium/scene_json (std_msgs/String). `rosbag info` and `rosbag play` read it.
    #[arg(long, value_name = "OUT.bag")]
    pub record: Option<PathBuf>,
    /// Stop after this many fused scenes.
    #[arg(long, value_name = "N")]
    pub max_frames: Option<u64>,
    /// Write a timeline of the run as Chrome trace JSON (chrome://tracing, ui.perfetto.dev): every
    /// perception stage, message decoding and the sinks, on the thread that ran each.
    #[arg(long, value_name = "OUT.json", conflicts_with = "recordings")]
    pub trace: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub pipeline: PipelineOpts,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Dataset layout: `kitti` (velodyne/, image_2/, calib/, label_2/; base_link 1.73 m under the
    /// Velodyne) or `av2` (an Argoverse 2 sensor log: sensors/lidar/*.feather, annotations.feather;
    /// LiDAR only).
    #[arg(long, value_name = "KIND", value_parser = ["kitti", "av2"])]
    pub dataset: String,
    /// The KITTI object directory or the Argoverse 2 log directory.
    #[arg(value_name = "DIR")]
    pub path: PathBuf,
    /// Write the metrics as JSON.
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write scenes (scenes.jsonl) and PNG renderings here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Which scenes to render as PNG into --out: `all`, `none` or a count N.
    #[arg(long, value_name = "WHICH", default_value = "8")]
    pub render: String,
    /// Evaluate only the first N frames.
    #[arg(long, value_name = "N")]
    pub max_frames: Option<usize>,
    /// Labels with fewer LiDAR points inside their box are ignored (neither missed nor matched).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub min_points: u32,
    /// Height (m) of the LiDAR above the scene frame, where the dataset does not give it (KITTI: 1.73).
    #[arg(long, value_name = "M")]
    pub lidar_height: Option<f64>,
    /// Write a timeline of the run as Chrome trace JSON (see `replay --trace`).
    #[arg(long, value_name = "OUT.json")]
    pub trace: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub pipeline: PipelineOpts,
}

/// `--shard I/N`: the recordings whose sorted index is I modulo N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Every recording.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Is the recording at `position` (in sorted order) this shard's?
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/8"))?;
    let index: usize = i
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: index {i:?} is not a whole number"))?;
    let count: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: count {n:?} is not a whole number"))?;
    if count == 0 {
        return Err(format!("{s:?}: the count must be at least 1"));
    }
    if index >= count {
        return Err(format!(
            "{s:?}: the index must be below the count (0 to {})",
            count - 1
        ));
    }
    Ok(Shard { index, count })
}

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// Node name (private topics are /NAME/...); `__name:=X` (ROS 1) or `--ros-args -r __node:=X` (ROS 2)
    /// remapping also works.
    #[arg(long, default_value = "sensorium")]
    pub name: String,
    /// Run on ROS 2 (DDS, no ROS 2 installation needed) instead of ROS 1 (sets `ros.version = 2`).
    #[arg(long)]
    pub ros2: bool,
    #[command(flatten)]
    pub pipeline: PipelineOpts,
    /// ROS 1 remapping arguments (`from:=to`, `__name:=x`, `__log:=...` as roslaunch passes them), or ROS 2
    /// arguments after `--ros-args` (`-r from:=to`, `-r __node:=x`, `-r __ns:=/ns`, `-p key:=value`,
    /// `--params-file FILE`, as ros2 launch passes them; parameters are configuration keys).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "REMAP")]
    pub ros_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Write results as JSON (stable schema: machine + results[]).
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Short run (CI): fewer iterations, a 30 s node soak.
    #[arg(long)]
    pub quick: bool,
    /// Regenerate BENCHMARKS.md's generated table from this run.
    #[arg(long)]
    pub update_docs: bool,
    /// Recording for the end-to-end and soak figures (default: the bundled sample).
    #[arg(long, value_name = "BAG")]
    pub bag: Option<PathBuf>,
    /// Node soak length in seconds (default 600, 30 with --quick; 0 skips it).
    #[arg(long, value_name = "SECS")]
    pub soak_seconds: Option<u64>,
    /// Only stages whose name contains one of these (comma-separated), e.g. `encoders,engine`.
    #[arg(long, value_name = "STAGES", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Do not install missing peers (their rows then say why they have no ratio).
    #[arg(long)]
    pub no_install: bool,
    /// Measure nothing: load a saved `--json` report (to print it or `--update-docs` from it).
    #[arg(long, value_name = "JSON")]
    pub from_json: Option<PathBuf>,
    /// Exit non-zero when a stage failed or a peer is missing.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub pipeline: PipelineOpts,
}

#[derive(Subcommand, Debug)]
pub enum CalibCommand {
    /// Project a LiDAR cloud into a camera image: overlay PNG, counts, optional per-point (u, v, depth).
    #[command(
        after_help = "Examples:\n  sensorium calib project --calib 000000.txt --cloud 000000.bin --image 000000.png --out overlay.png\n  sensorium calib project --calib calibration/ --camera camera_front --cloud scan.pcd --image img.png --uv-out uv.npy --json"
    )]
    Project(CalibProjectArgs),
    /// Check every frame of a recording for calibration drift (bumped sensor). Calibration: --calib
    /// (folder or KITTI .txt), else the recording's /tf_static and camera_info.
    #[command(after_help = "Example:\n  sensorium calib check drive.bag --calib calibration/")]
    Check(CalibCheckArgs),
}

#[derive(Args, Debug)]
pub struct CalibProjectArgs {
    /// Calibration: a KITTI calib .txt or a calibration folder (extrinsics.yaml + camera_info YAMLs).
    #[arg(long, value_name = "C")]
    pub calib: PathBuf,
    /// Cloud: KITTI .bin, .pcd (ascii/binary/binary_compressed), .npy (N×3/N×4), or a .bag with --topic.
    #[arg(long, value_name = "FILE")]
    pub cloud: PathBuf,
    /// With a .bag cloud: the PointCloud2 topic.
    #[arg(long, value_name = "T")]
    pub topic: Option<String>,
    /// With a .bag cloud: the header stamp (float seconds) to pick; the closest message is used
    /// (default: the first).
    #[arg(long, value_name = "SECS")]
    pub time: Option<f64>,
    /// Camera image (PNG/JPEG).
    #[arg(long, value_name = "FILE")]
    pub image: PathBuf,
    /// Camera name in a calibration folder (default: the first camera).
    #[arg(long, value_name = "NAME")]
    pub camera: Option<String>,
    /// Overlay PNG with points coloured by depth.
    #[arg(long, value_name = "PNG")]
    pub out: Option<PathBuf>,
    /// N×3 float64 .npy of (u, v, depth) per input point, NaN where behind the camera.
    #[arg(long, value_name = "NPY")]
    pub uv_out: Option<PathBuf>,
    /// Print the counts as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CalibCheckArgs {
    /// Recording with clouds and images.
    pub bag: PathBuf,
    /// Flag a frame when its in-image fraction moves by more than this (absolute) from the running median
    /// (a bumped LiDAR; a bumped camera is flagged by its alignment offset jumping by more than 6 px).
    #[arg(long, default_value_t = 0.05)]
    pub threshold: f64,
    /// Emit JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pipeline: PipelineOpts,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Load every model, run its golden inputs, compare with onnxruntime's outputs.
    #[command(after_help = "Example:\n  sensorium models check models/ --json")]
    Check(ModelsCheckArgs),
    /// Time every variant on every backend and thread count on this machine, check parity, and
    /// remember the fastest passing choice per model (used by replay and node when models.backend /
    /// models.variant are `auto`).
    #[command(
        after_help = "Example:\n  sensorium models tune models/ --threads 1,2 --runs 20\n  sensorium models tune --json --cache-dir /var/cache/sensorium"
    )]
    Tune(ModelsTuneArgs),
    /// Per-operator time of each model in tract: where an encoder's time goes.
    #[command(after_help = "Example:\n  sensorium models profile models/ --variant int8 --threads 1")]
    Profile(ModelsProfileArgs),
}

#[derive(Args, Debug)]
pub struct ModelsProfileArgs {
    /// Models folder, or one model folder.
    #[arg(default_value = "models")]
    pub dir: PathBuf,
    /// Variant to profile (fp32 = the main file).
    #[arg(long, default_value = "fp32")]
    pub variant: String,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ModelsCheckArgs {
    /// Models folder (one subfolder per model with manifest.toml and model.onnx).
    #[arg(default_value = "models")]
    pub dir: PathBuf,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Inference backend: tract or onnxruntime.
    #[arg(long, default_value = "tract")]
    pub backend: String,
    /// Threads of each model run.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// tract device: cpu, or cuda (a build with the `cuda` feature; falls back to cpu with one warning).
    #[arg(long)]
    pub device: Option<String>,
}

#[derive(Args, Debug)]
pub struct ModelsTuneArgs {
    /// Models folder (one subfolder per model with manifest.toml and model.onnx).
    #[arg(default_value = "models")]
    pub dir: PathBuf,
    /// JSON output (every candidate and the choices).
    #[arg(long)]
    pub json: bool,
    /// Thread counts to try, comma-separated (default: 1 and all cores).
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Timed runs per candidate.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Backends to try, comma-separated (default: every backend that loads here).
    #[arg(long, value_delimiter = ',')]
    pub backend: Vec<String>,
    /// Where the per-machine tune file goes (default: `$SENSORIUM_CACHE_DIR`, else ~/.cache/sensorium).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Measure and print, do not write the tune file.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum BagCommand {
    /// Summarise a recording like `rosbag info` (works on bags without an index).
    #[command(after_help = "Example:\n  sensorium bag info drive.bag")]
    Info { bag: PathBuf },
    /// Read every message (reading and decompressing chunks, no pipeline): how fast a recording can be fed.
    #[command(after_help = "Example:\n  sensorium bag read drive.bag --topics /lidar/points --json")]
    Read {
        bag: PathBuf,
        /// Only these topics (comma separated); chunks without them are not read.
        #[arg(long, value_name = "T", value_delimiter = ',')]
        topics: Vec<String>,
        /// Start this many seconds into the bag.
        #[arg(long, value_name = "SECS")]
        start: Option<f64>,
        /// Read only this many seconds.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        /// Threads reading and decompressing chunks ahead (0: one per core, up to 4; 1: none).
        #[arg(long, value_name = "N", default_value_t = 0)]
        prefetch: usize,
        /// Skip the LZ4 checksums (verified by default, as ROS's roslz4 does).
        #[arg(long)]
        skip_checksums: bool,
        /// Read with positioned reads instead of a memory mapping (indexed bags are mapped by default;
        /// SENSORIUM_BAG_MMAP=0 turns mapping off everywhere).
        #[arg(long)]
        no_mmap: bool,
        /// Print the figures as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Export a topic: clouds as .npy (N×4 float32 x,y,z,intensity), images as PNG.
    #[command(after_help = "Example:\n  sensorium bag export drive.bag --topic /lidar/points --out clouds/")]
    Export {
        bag: PathBuf,
        #[arg(long, value_name = "T")]
        topic: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Output recording.
    #[arg(long, value_name = "BAG")]
    pub out: Option<PathBuf>,
    /// Recording format: `bag` (ROS1) or `mcap` (ROS 2 messages, CDR, zstd chunks; what
    /// `ros2 bag record -s mcap` writes). Default: `mcap` when --out ends in .mcap, else `bag`.
    #[arg(long, value_name = "FORMAT", value_parser = ["bag", "mcap"])]
    pub format: Option<String>,
    /// Number of LiDAR sweeps.
    #[arg(long, default_value_t = 50)]
    pub frames: u32,
    /// Seed: same seed, same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Simulation config (TOML/YAML): sensors, rates, scene density.
    #[arg(long, value_name = "F")]
    pub config: Option<PathBuf>,
    /// Also write the scenes as arrays for the training recipe.
    #[arg(long, value_name = "DIR")]
    pub export_training: Option<PathBuf>,
    /// Write the simulated vehicle's calibration folder here.
    #[arg(long, value_name = "DIR")]
    pub calib_out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective configuration and where each value came from.
    #[command(
        after_help = "Example:\n  SENSORIUM__ENGINE__DEADLINE_MS=80 sensorium config show --config vehicle.toml"
    )]
    Show {
        #[arg(long, value_name = "F")]
        config: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Print a commented example configuration.
    Example,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Recording to read (messages fed in bag order).
    pub bag: PathBuf,
    /// Topics to synchronise, comma separated (2 to 9).
    #[arg(long, value_delimiter = ',', required = true)]
    pub topics: Vec<String>,
    /// approximate (message_filters C++), slop (message_filters Python), exact, latest.
    #[arg(long, default_value = "approximate")]
    pub policy: String,
    /// Queue size per topic.
    #[arg(long, default_value_t = 10)]
    pub queue: u32,
    /// ApproximateTime max interval duration in seconds.
    #[arg(long)]
    pub max_interval: Option<f64>,
    /// Python synchronizer slop in seconds.
    #[arg(long)]
    pub slop: Option<f64>,
    /// ApproximateTime age penalty.
    #[arg(long)]
    pub age_penalty: Option<f64>,
    /// `latest` policy: max age of non-trigger streams (s).
    #[arg(long)]
    pub max_age: Option<f64>,
    /// Output: one JSON line per matched set, {"stamps": {"TOPIC": secs, ...}}.
    #[arg(long, value_name = "OUT")]
    pub jsonl: PathBuf,
}
