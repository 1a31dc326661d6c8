//! gpuguard catches the ML-ops mistakes that waste GPU time before they cost anything.
//!
//! The crate is pure Rust (no Python): the footgun [`catalog()`], the [`Finding`] and [`Report`]
//! types every check produces, renderers for them, and the math behind the checks as pure
//! functions in [`math`] (/dev/shm sizing, checkpoint intervals, probe windows, GPU resources).
//!
//! ```
//! let need = gpuguard::shm_required_bytes(4, 8 << 20, 2, 1, 1).unwrap();
//! assert!(need > 2 * 4 * (8 << 20)); // more than the classic 2 × workers × batch rule
//! assert_eq!(gpuguard::catalog().len(), 10);
//! ```

pub mod doctor;
pub mod ecc;
mod error;
mod file_kind;
mod finding;
pub mod footguns;
#[cfg(feature = "lint")]
pub mod k8s;
#[cfg(feature = "lint")]
pub mod lint;
pub mod math;
pub mod probe;
pub mod render;
mod report;
mod severity;
#[cfg(feature = "store")]
pub mod store;
pub mod xid;
#[cfg(feature = "lint")]
mod yaml;

pub use error::{Error, Result};
pub use file_kind::file_kind;
pub use finding::{Evidence, Finding, Location};
pub use footguns::{Footgun, RuleId, catalog, footgun};
pub use math::checkpoint::{
    CheckpointJob, CheckpointMethod, CheckpointPlan, checkpoint_plan, checkpoint_waste, lost_work_cost, mtbf_hours,
    optimal_checkpoint_interval,
};
pub use math::gpu_resources::{GpuResourceProblem, validate_gpu_resources};
pub use math::probe_window::{ProbeTiming, estimate_load_seconds, probe_window_seconds, startup_window_covers};
pub use math::quantity::{ByteConvention, ByteSize, Quantity};
pub use math::shm::{ShmRecommendation, shm_recommended_size, shm_required_bytes};
pub use report::{Check, CheckStatus, InputError, Report, SCHEMA_VERSION, Skipped, Summary};
pub use severity::Severity;
