//! Errors of the engine: invalid configurations and stage failures.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    /// A synchronization policy was configured with values it cannot work with.
    #[error("sync policy `{policy}`: {field} = {value}: {problem}")]
    InvalidPolicy {
        policy: &'static str,
        field: &'static str,
        value: String,
        problem: &'static str,
    },
    /// An arrival referred to a stream the policy was not built for.
    #[error("sync policy `{policy}`: message on stream {stream}, but the policy has {streams} streams")]
    UnknownStream {
        policy: &'static str,
        stream: usize,
        streams: usize,
    },
    /// A pipeline was configured with values it cannot work with.
    #[error("pipeline: {field} = {value}: {problem}")]
    InvalidPipeline {
        field: &'static str,
        value: String,
        problem: &'static str,
    },
    /// A stage thread could not be started or panicked.
    #[error("pipeline stage `{stage}`: {problem}")]
    Stage { stage: String, problem: String },
}
