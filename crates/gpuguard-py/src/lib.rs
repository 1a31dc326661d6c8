//! `gpuguard._gpuguard`: the PyO3 layer. Thin on purpose: it converts arguments and results and
//! maps errors (one place, `errors`); every function runs inside `errors::guard` so a Rust
//! panic becomes `GpuGuardError`, never a `PanicException` in a training script.

mod catalog;
mod cli;
mod convert;
mod doctor;
mod ecc;
mod errors;
mod lint;
mod math;
mod report;
mod store;
mod xid;
mod xid_html;

use pyo3::prelude::*;

#[pymodule]
fn _gpuguard(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    report::register(m)?;
    catalog::register(m)?;
    math::register(m)?;
    cli::register(m)?;
    xid::register(m)?;
    ecc::register(m)?;
    lint::register(m)?;
    doctor::register(m)?;
    store::register(m)?;
    Ok(())
}
