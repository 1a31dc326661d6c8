//! The fast checksum of checkpoint files: XXH3-128 over the whole file, streamed in large reads,
//! several files at once on as many threads as the machine has (one big file is one thread: the
//! hash runs far faster than any disk, so reading is the limit, not hashing).

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use xxhash_rust::xxh3::Xxh3;

/// The name of the checksum algorithm, as the manifest records it.
pub const ALGORITHM: &str = "xxh3-128";

/// Reads of 4 MiB: large enough that syscalls cost nothing next to the copy and the hash.
const CHUNK: usize = 4 << 20;

/// Size and checksum of one file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Bytes read.
    pub size: u64,
    /// XXH3-128 of the bytes, 32 lowercase hex digits.
    pub checksum: String,
}

/// Hashes everything `reader` yields.
///
/// ```
/// use gpuguard::store::checksum::digest_reader;
/// let d = digest_reader(&b"hello"[..]).unwrap();
/// assert_eq!(d.size, 5);
/// assert_eq!(d.checksum.len(), 32);
/// assert_ne!(d.checksum, digest_reader(&b"hellp"[..]).unwrap().checksum);
/// ```
pub fn digest_reader(mut reader: impl Read) -> io::Result<FileDigest> {
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(FileDigest { size, checksum: format!("{:032x}", hasher.digest128()) })
}

/// Hashes one file.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("a.bin");
/// std::fs::write(&p, b"hello").unwrap();
/// assert_eq!(gpuguard::store::checksum::digest_file(&p).unwrap().size, 5);
/// ```
pub fn digest_file(path: &Path) -> io::Result<FileDigest> {
    // A checkpoint file swapped for a symlink or a FIFO after the listing is refused, not followed.
    digest_reader(super::publish::open_regular(path)?)
}

/// Hashes `paths` on up to `available_parallelism` threads; results are in the order of `paths`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let (a, b) = (dir.path().join("a"), dir.path().join("b"));
/// std::fs::write(&a, b"x").unwrap();
/// std::fs::write(&b, b"yy").unwrap();
/// let out = gpuguard::store::checksum::digest_files(&[a, b]);
/// assert_eq!(out[1].as_ref().unwrap().size, 2);
/// ```
pub fn digest_files(paths: &[PathBuf]) -> Vec<io::Result<FileDigest>> {
    parallel_map(paths, |p| digest_file(p))
}

/// Runs `f` over `items` on a few scoped threads (a shared work index; big and small files mix
/// well), keeping the input order.
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().flatten().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parallel_keeps_order_and_matches_serial() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..9)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, vec![i as u8; 1000 * i + 3]).unwrap();
                p
            })
            .collect();
        let par = digest_files(&paths);
        for (p, d) in paths.iter().zip(par) {
            assert_eq!(d.unwrap(), digest_file(p).unwrap());
        }
    }

    #[test]
    fn every_single_bit_flip_changes_the_checksum() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let base = digest_reader(&data[..]).unwrap().checksum;
        for bit in 0..data.len() * 8 {
            let mut d = data.clone();
            d[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(digest_reader(&d[..]).unwrap().checksum, base, "bit {bit}");
        }
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(digest_file(Path::new("/nonexistent/gpuguard")).is_err());
    }
}
