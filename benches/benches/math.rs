//! The math is called in hot loops by the checks; keep it in nanoseconds.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn math(c: &mut Criterion) {
    c.bench_function("shm_required_bytes", |b| {
        b.iter(|| gpuguard::shm_required_bytes(black_box(8), black_box(64 << 20), 2, 1, 8))
    });
    c.bench_function("checkpoint_plan", |b| {
        let job = gpuguard::CheckpointJob {
            hourly_gpu_cost: 512.0,
            run_hours: 336.0,
            checkpoint_seconds: 180.0,
            interruption_rate: 0.2,
            nodes: 16,
            restart_seconds: 600.0,
            ..Default::default()
        };
        b.iter(|| gpuguard::checkpoint_plan(black_box(&job)))
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
