//! The math is called in hot loops by the checks; keep it in nanoseconds.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn math(c: &mut Criterion) {
    c.bench_function("shm_required_bytes", |b| {
        b.iter(|| gpuguard::shm_required_bytes(black_box(8), black_box(64 << 20), 2, 1, 8))
    });
    c.bench_function("checkpoint_plan", |b| {
        b.iter(|| {
            gpuguard::checkpoint_plan(
                black_box(512.0),
                336.0,
                180.0,
                0.2,
                730.0,
                16,
                600.0,
                gpuguard::CheckpointMethod::Daly,
            )
        })
    });
    c.bench_function("validate_gpu_resources", |b| {
        b.iter(|| {
            gpuguard::validate_gpu_resources(
                black_box(&[("nvidia.com/gpu", "2")]),
                black_box(&[("nvidia.com/gpu", "2")]),
            )
        })
    });
}

criterion_group!(benches, math);
criterion_main!(benches);
