//! The failure classes of `sensorium replay` with their exit codes, and the tagging of errors with them.

use anyhow::Result;

/// A failure class of `sensorium replay`, each with its own exit code (listed in
/// `sensorium replay --help`; scripts and batch engines rely on them: extend, never renumber).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Anything else (a retry may help): 1.
    Other,
    /// Flags, configuration, `--shard`, the recordings list: 2 (clap's usage errors exit 2 too).
    Config,
    /// The recording is missing, unreadable or damaged: 3.
    Recording,
    /// The models could not be loaded: 4.
    Models,
    /// The calibration could not be loaded: 5.
    Calibration,
    /// The output could not be written: 6.
    Output,
    /// Stopped by SIGINT/SIGTERM: 130.
    Interrupted,
}

impl Failure {
    pub fn code(self) -> i32 {
        match self {
            Failure::Other => 1,
            Failure::Config => 2,
            Failure::Recording => 3,
            Failure::Models => 4,
            Failure::Calibration => 5,
            Failure::Output => 6,
            Failure::Interrupted => 130,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Failure::Other => "other",
            Failure::Config => "config",
            Failure::Recording => "recording",
            Failure::Models => "models",
            Failure::Calibration => "calibration",
            Failure::Output => "output",
            Failure::Interrupted => "interrupted",
        }
    }

    /// The class an error was tagged with (the innermost tag), else [`Failure::Other`].
    pub fn of(e: &anyhow::Error) -> Failure {
        let mut class = Failure::Other;
        for c in e.chain() {
            if let Some(tagged) = c.downcast_ref::<Classified>() {
                class = tagged.class;
            }
        }
        class
    }

    /// What a failure of the pipeline itself is: a damaged recording (a bag error in the chain), a
    /// failed write (an I/O error that is not the bag's), else other.
    pub(super) fn of_pipeline(e: &anyhow::Error) -> Failure {
        if e.chain().any(|c| c.is::<sensorium_bag::BagError>()) {
            Failure::Recording
        } else if e.chain().any(|c| c.is::<std::io::Error>()) {
            Failure::Output
        } else {
            Failure::Other
        }
    }
}

/// An error tagged with its [`Failure`] class; it reads exactly as the error it wraps.
#[derive(Debug)]
struct Classified {
    class: Failure,
    inner: anyhow::Error,
}

impl std::fmt::Display for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for Classified {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

pub(crate) trait Classify<T> {
    /// Tags the error with `class` unless a cause already carries a class.
    fn class(self, class: Failure) -> Result<T>;
}

impl<T, E: Into<anyhow::Error>> Classify<T> for std::result::Result<T, E> {
    fn class(self, class: Failure) -> Result<T> {
        self.map_err(|e| tag(e.into(), class))
    }
}

pub(crate) fn tag(e: anyhow::Error, class: Failure) -> anyhow::Error {
    if e.chain().any(|c| c.is::<Classified>()) {
        e
    } else {
        anyhow::Error::new(Classified { class, inner: e })
    }
}
