//! The command line, callable from Python: `python -m gpuguard` and the `gpuguard` console script
//! run the same Rust entry point as the binary.

use pyo3::prelude::*;

/// Runs the gpuguard command line with `argv` (without the program name); returns the exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> PyResult<i32> {
    let args = std::iter::once("gpuguard".to_owned()).chain(argv);
    crate::errors::guard(|| Ok(py.detach(|| gpuguard_cli::run(args))))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cli_main, m)?)
}
