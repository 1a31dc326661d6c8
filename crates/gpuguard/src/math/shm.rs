//! How much /dev/shm a PyTorch DataLoader needs, and what to give it.
//!
//! # The model
//!
//! DataLoader workers collate each batch straight into shared memory and hand it to the main
//! process. PyTorch keeps `prefetch_factor × num_workers` batches in flight, and on the consumer
//! side two more are alive at the worst moment: the batch the training loop still holds and the
//! one just received. So one loader needs
//!
//! ```text
//! (num_workers × prefetch_factor + 2) × (page_round(batch_bytes) + 1 page)
//!     + (3 × num_workers + 8) pages
//! ```
//!
//! The extra page per batch is the `file_system` sharing strategy's 64-byte header, which spills
//! into one more page (the default `file_descriptor` strategy needs exactly the rounded batch).
//! The per-loader pages are CPython multiprocessing's POSIX semaphores, one tmpfs page each: three
//! per `Queue` (one index queue per worker plus the result queue) and five for the done `Event`.
//!
//! and every loader iterating at the same time, on every local process (rank) of the node,
//! shares the same /dev/shm. The classic rule `2 × workers × batch_bytes` is the first term
//! alone: a floor that real loaders exceed. The constants below were calibrated against torch
//! 2.15 DataLoaders iterated to the end in a private tmpfs /dev/shm of a given size
//! (`benches/shm/calibrate_dataloader_shm.py`, results in
//! `benches/shm/dataloader_shm_measurements.csv`, 55 configurations: 1-4 workers, prefetch 1-4,
//! 64 KiB-16 MiB batches, both sharing strategies, fast and slow consumers, two loaders zipped).
//! Without the extra page a loader given exactly that much ran 2/2 times in every configuration,
//! and 4 KiB less failed in about half of them: the model is exact to the page. One loop shape
//! needs one batch more per loader: `for t in zip(a, b)` keeps the previous tuple alive
//! (`for x, y in zip(a, b)` does not); pass `loaders` one higher for it.

use crate::math::quantity::{docker_size, format_bytes, human_bytes};
use crate::{Error, Result};
use serde::Serialize;

/// Batches alive outside the prefetch queue: the one the loop holds and the one just received.
pub const CONSUMER_BATCHES: u64 = 2;
/// tmpfs allocates whole pages.
pub const PAGE_BYTES: u64 = 4096;
/// Semaphore pages per loader: three per worker index queue, three for the result queue, five
/// for the done event (measured; see the module docs).
const fn semaphore_pages(num_workers: u64) -> u64 {
    3 * num_workers + 8
}
/// Largest worker count accepted; beyond this the argument is a mistake, not a loader.
const MAX_WORKERS: u64 = 4096;

/// Free /dev/shm a DataLoader needs so it never dies of shared memory (Bus error, "No space left
/// on device"), in bytes. `num_workers = 0` is a real answer, not an error: the main process
/// loads the batches itself, passes no tensors between processes and needs no /dev/shm for data
/// (0 bytes; `prefetch_factor` does not apply then, as PyTorch says).
///
/// * `num_workers`, `prefetch_factor`: as given to `torch.utils.data.DataLoader`
///   (`prefetch_factor` is PyTorch's default 2 when `None`).
/// * `batch_bytes`: bytes of one collated batch (all its tensors).
/// * `loaders`: DataLoaders iterating at the same time in one process (train + eval with
///   persistent workers).
/// * `local_processes`: training processes on the node that share its /dev/shm (local ranks).
///
/// ```
/// use gpuguard::shm_required_bytes;
/// // 2 workers of 8 MiB batches: the classic rule says 32 MiB; a real loader needs more.
/// let need = shm_required_bytes(2, 8 << 20, 2, 1, 1).unwrap();
/// assert_eq!(need, (2 * 2 + 2) * ((8 << 20) + 4096) + (3 * 2 + 8) * 4096);
/// assert_eq!(shm_required_bytes(0, 8 << 20, 2, 1, 1).unwrap(), 0);
/// assert!(shm_required_bytes(2, 8 << 20, 0, 1, 1).is_err());
/// // A batch of 0 bytes is a mistake (a batch holds at least one sample), with or without workers.
/// assert!(shm_required_bytes(2, 0, 2, 1, 1).is_err() && shm_required_bytes(0, 0, 2, 1, 1).is_err());
/// ```
///
/// # Errors
///
/// [`Error::InvalidArgument`] naming the argument: `batch_bytes` of 0, `num_workers` over 4096,
/// `loaders` or `local_processes` of 0, `prefetch_factor` of 0 with workers, a size that
/// overflows 64 bits.
pub fn shm_required_bytes(
    num_workers: u64,
    batch_bytes: u64,
    prefetch_factor: u64,
    loaders: u64,
    local_processes: u64,
) -> Result<u64> {
    if num_workers > MAX_WORKERS {
        return Err(Error::invalid("num_workers", format!("must be at most {MAX_WORKERS}, got {num_workers}")));
    }
    if batch_bytes == 0 {
        // Checked before the num_workers = 0 answer: 0 is what a unit typo or an unset variable
        // gives, and answering "0 bytes" would hide it.
        return Err(Error::invalid(
            "batch_bytes",
            "must be at least 1 byte, got 0: give the size of one collated batch (all its tensors), e.g. 8Mi",
        ));
    }
    if loaders == 0 {
        return Err(Error::invalid("loaders", "must be at least 1"));
    }
    if local_processes == 0 {
        return Err(Error::invalid("local_processes", "must be at least 1"));
    }
    if num_workers == 0 {
        return Ok(0);
    }
    if prefetch_factor == 0 {
        return Err(Error::invalid("prefetch_factor", "must be at least 1 when num_workers > 0 (PyTorch rejects 0)"));
    }
    let overflow = |name| Error::invalid(name, "the required size overflows 64 bits");
    let batch = batch_bytes
        .div_ceil(PAGE_BYTES)
        .checked_add(1)
        .and_then(|pages| pages.checked_mul(PAGE_BYTES))
        .ok_or_else(|| overflow("batch_bytes"))?;
    let batches = num_workers
        .checked_mul(prefetch_factor)
        .and_then(|n| n.checked_add(CONSUMER_BATCHES))
        .ok_or_else(|| overflow("prefetch_factor"))?;
    let per_loader = batches
        .checked_mul(batch)
        .and_then(|n| n.checked_add(semaphore_pages(num_workers) * PAGE_BYTES))
        .ok_or_else(|| overflow("batch_bytes"))?;
    per_loader
        .checked_mul(loaders)
        .ok_or_else(|| overflow("loaders"))?
        .checked_mul(local_processes)
        .ok_or_else(|| overflow("local_processes"))
}

/// What to put in the emptyDir `sizeLimit` (or `--shm-size`), with the reasoning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShmRecommendation {
    /// What the loaders need at their peak ([`shm_required_bytes`]).
    pub required_bytes: u64,
    /// The recommended size in bytes.
    pub size_bytes: u64,
    /// The same as a Kubernetes quantity (`8Gi`), ready for `sizeLimit`.
    pub quantity: String,
    /// The same as Docker writes it (`8g`), ready for `docker run --shm-size=8g`.
    pub docker_shm_size: String,
    /// Why this size, in sentences a user can paste into a review.
    pub reasoning: String,
}

/// The smallest size gpuguard recommends: NCCL also puts its intra-node buffers in /dev/shm.
pub const MIN_RECOMMENDED_BYTES: u64 = 1 << 30;

/// Recommends a /dev/shm size for a DataLoader: the requirement plus 50% headroom (batches vary:
/// padding, variable-length samples, an extra loader in evaluation), rounded up to whole GiB,
/// at least 1 GiB. When `memory_limit_bytes` is known, the reasoning also says whether the size
/// fits: tmpfs pages count against the container's memory limit.
///
/// ```
/// let r = gpuguard::shm_recommended_size(8, 64 << 20, 2, 1, 1, None).unwrap();
/// assert_eq!(r.required_bytes, gpuguard::shm_required_bytes(8, 64 << 20, 2, 1, 1).unwrap());
/// assert_eq!(r.quantity, "2Gi");
/// assert_eq!(r.docker_shm_size, "2g");
/// assert!(r.reasoning.contains("memory limit"));
/// // A memory limit of 0 is a mistake: a container with no limit leaves the argument out.
/// assert!(gpuguard::shm_recommended_size(8, 64 << 20, 2, 1, 1, Some(0)).is_err());
/// ```
///
/// # Errors
///
/// Those of [`shm_required_bytes`], and [`Error::InvalidArgument`] for a `memory_limit_bytes` of 0.
pub fn shm_recommended_size(
    num_workers: u64,
    batch_bytes: u64,
    prefetch_factor: u64,
    loaders: u64,
    local_processes: u64,
    memory_limit_bytes: Option<u64>,
) -> Result<ShmRecommendation> {
    const GIB: u64 = 1 << 30;
    if memory_limit_bytes == Some(0) {
        return Err(Error::invalid(
            "memory_limit_bytes",
            "must be more than 0 bytes: for a container without a memory limit, leave it out",
        ));
    }
    let required = shm_required_bytes(num_workers, batch_bytes, prefetch_factor, loaders, local_processes)?;
    let with_headroom = required.saturating_add(required / 2);
    let size = with_headroom.div_ceil(GIB).saturating_mul(GIB).max(MIN_RECOMMENDED_BYTES);
    let quantity = format_bytes(size);
    let mut reasoning = if num_workers == 0 {
        format!(
            "num_workers=0 loads batches in the main process and needs no /dev/shm for data; \
             {quantity} still replaces Docker's and Kubernetes' 64 MiB default, which NCCL and \
             other libraries can outgrow."
        )
    } else {
        format!(
            "{loaders} loader(s) × {local_processes} local process(es) × ({num_workers} workers × \
             prefetch_factor {prefetch_factor} + {CONSUMER_BATCHES} held by the loop) batches of \
             {} need {} at peak; with 50% headroom for larger batches, rounded up to whole GiB: \
             {quantity}. (For image training with unknown batch sizes, 8Gi-16Gi is a safe start.)",
            human_bytes(batch_bytes),
            human_bytes(required),
        )
    };
    reasoning.push_str(&match memory_limit_bytes {
        Some(limit) if size >= limit => format!(
            " tmpfs pages count against the container's memory limit ({}): it cannot hold {quantity} \
             of /dev/shm besides the process itself; raise the memory limit by at least {quantity}.",
            human_bytes(limit)
        ),
        Some(limit) => format!(
            " tmpfs pages count against the container's memory limit ({}): make sure the process's \
             own memory plus {quantity} fits in it.",
            human_bytes(limit)
        ),
        None => format!(" tmpfs pages count against the container's memory limit: raise it by {quantity}."),
    });
    Ok(ShmRecommendation {
        required_bytes: required,
        size_bytes: size,
        docker_shm_size: docker_size(size),
        quantity,
        reasoning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn measured_case_from_the_issue() {
        // torch 2.15: 2 workers × 8 MiB died at 40 MiB and ran at 48 MiB of tmpfs.
        let need = shm_required_bytes(2, 8 << 20, 2, 1, 1).unwrap();
        assert!(need > 40 << 20 && need <= 49 << 20, "{need}");
    }

    #[test]
    fn errors_name_the_argument() {
        let e = shm_required_bytes(1, u64::MAX, 2, 1, 1).unwrap_err().to_string();
        assert!(e.contains("batch_bytes"), "{e}");
        let e = shm_required_bytes(5000, 1, 2, 1, 1).unwrap_err().to_string();
        assert!(e.contains("num_workers"), "{e}");
        let e = shm_required_bytes(1, 1, 2, 0, 1).unwrap_err().to_string();
        assert!(e.contains("loaders"), "{e}");
    }

    #[test]
    fn memory_limit_that_cannot_hold_it() {
        let r = shm_recommended_size(4, 256 << 20, 2, 1, 1, Some(2 << 30)).unwrap();
        assert!(r.reasoning.contains("raise the memory limit"), "{}", r.reasoning);
    }

    proptest! {
        #[test]
        fn monotonic_and_above_the_classic_rule(
            w in 1u64..64, b in 1u64..(1 << 30), p in 1u64..8, l in 1u64..4, n in 1u64..8,
        ) {
            let need = shm_required_bytes(w, b, p, l, n).unwrap();
            prop_assert!(need >= w * p * b * l * n);
            prop_assert!(shm_required_bytes(w + 1, b, p, l, n).unwrap() > need);
            prop_assert!(shm_required_bytes(w, b + 4096, p, l, n).unwrap() > need);
            prop_assert!(shm_required_bytes(w, b, p + 1, l, n).unwrap() > need);
            prop_assert!(shm_required_bytes(w, b, p, l + 1, n).unwrap() > need);
            let r = shm_recommended_size(w, b, p, l, n, None).unwrap();
            prop_assert!(r.size_bytes >= need && r.size_bytes % (1 << 30) == 0);
        }

        #[test]
        fn never_panics(w: u64, b: u64, p: u64, l: u64, n: u64) {
            let _ = shm_required_bytes(w, b, p, l, n);
            let _ = shm_recommended_size(w, b, p, l, n, Some(b));
        }
    }
}
