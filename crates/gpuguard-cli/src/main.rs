//! The `gpuguard` binary: a thin shell around [`gpuguard_cli::run`].

fn main() {
    std::process::exit(gpuguard_cli::run(std::env::args_os()));
}
