//! The `gpuguard` binary: a thin shell around [`gpuguard_cli::run`].

// mimalloc: a linter run is millions of small allocations (every key and value of every
// manifest); mimalloc serves them in about half the instructions of glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(gpuguard_cli::run(std::env::args_os()));
}
