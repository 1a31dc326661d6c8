//! One pass that finds the next line marker ([`marker_at`]: an XID, or a line of the driver's
//! off-the-bus message) and counts the newlines before it. The scanner needs
//! both (the marker to parse a line, the newlines for its line number); doing them as two
//! searches read every byte twice and made line numbers the biggest cost of a scan. With AVX2
//! each 64-byte block is loaded once and gives both a newline mask (popcounted) and a marker
//! candidate mask; elsewhere a portable path does memmem's search, then memchr's newline count.

use super::parse::{NVRM, XID_MARKER, marker_at};
use memchr::memmem;
use std::sync::LazyLock;

static NVRM_FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(NVRM));

/// Which implementation [`Engine::find`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// x86-64 with AVX2, detected at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// Any CPU: memmem's search, then memchr's newline count.
    Portable,
}

impl Default for Engine {
    fn default() -> Self {
        Self::detect()
    }
}

impl Engine {
    /// The fastest engine this CPU runs (std caches the feature probe, so this is cheap).
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Self::Avx2;
        }
        Self::Portable
    }

    /// The offset of the first marker in `hay` and the newlines before it; without a marker,
    /// `None` and the newlines in all of `hay`.
    pub(crate) fn find(self, hay: &[u8]) -> (Option<usize>, u64) {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx2` is only built by `detect` after the CPU reported AVX2 (or by tests
            // that check the same).
            Self::Avx2 => unsafe { find_avx2(hay) },
            Self::Portable => find_portable(hay),
        }
    }
}

fn find_portable(hay: &[u8]) -> (Option<usize>, u64) {
    let mut from = 0;
    let hit = loop {
        match NVRM_FINDER.find(&hay[from..]) {
            Some(i) if marker_at(hay, from + i) => break Some(from + i),
            Some(i) => from += i + 1,
            None => break None,
        }
    };
    let before = &hay[..hit.unwrap_or(hay.len())];
    // memchr's `count` is SIMD; it does not visit each hit.
    (hit, memchr::memchr_iter(b'\n', before).count() as u64)
}

/// Blocks of 64 bytes: `a` masks bytes equal to the markers' first byte ('N'), `b` (loaded 8
/// bytes further) bytes equal to the markers' ninth: 'd' ("NVRM: Xid"), 'e' ("NVRM: The NVIDIA
/// GPU") or 'l' ("NVRM: fallen off the bus"); where both are set a marker may start, and only
/// there is [`marker_at`] asked (the driver's other lines, "NVRM: GPU at …" and "NVRM: loading
/// …", fail the cheap test). Newlines are counted in per-byte-lane counters (compare, subtract)
/// that are summed every 127 blocks, before a lane could overflow: fewer instructions per block
/// than a movemask and popcount, which matters because the loop runs at memory speed. The
/// block that holds a marker counts its newlines below it with a mask. The last < 72 bytes go
/// to the portable path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn find_avx2(hay: &[u8]) -> (Option<usize>, u64) {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_extract_epi64, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_sad_epu8, _mm256_set1_epi8, _mm256_setzero_si256, _mm256_sub_epi8, _mm256_testz_si256,
    };
    const M: usize = XID_MARKER.len();
    const STEP: usize = 64;
    // Each block adds at most 2 to a lane (one per half), so 127 blocks stay below 256.
    const FLUSH: u32 = 127;
    // Sums the 32 byte lanes of `acc`.
    #[target_feature(enable = "avx2")]
    unsafe fn total(acc: __m256i) -> u64 {
        // SAFETY (for Rust < 1.87, where these are `unsafe fn`s): the caller has AVX2.
        #[allow(unused_unsafe)]
        unsafe {
            let s = _mm256_sad_epu8(acc, _mm256_setzero_si256());
            (_mm256_extract_epi64::<0>(s)
                + _mm256_extract_epi64::<1>(s)
                + _mm256_extract_epi64::<2>(s)
                + _mm256_extract_epi64::<3>(s)) as u64
        }
    }
    let ptr = hay.as_ptr();
    let mut lines = 0u64;
    let mut i = 0;
    // SAFETY (for Rust < 1.87, where these are `unsafe fn`s): this function requires AVX2.
    #[allow(unused_unsafe)]
    let (first, last, ninth_e, ninth_l, nl, mut acc) = unsafe {
        (
            _mm256_set1_epi8(XID_MARKER[0] as i8),
            _mm256_set1_epi8(XID_MARKER[M - 1] as i8),
            _mm256_set1_epi8(b'e' as i8),
            _mm256_set1_epi8(b'l' as i8),
            _mm256_set1_epi8(b'\n' as i8),
            _mm256_setzero_si256(),
        )
    };
    let mut blocks = 0;
    while i + STEP + M - 1 <= hay.len() {
        // SAFETY: the loads read hay[i..i + 64] and hay[i + 8..i + 72], inside `hay` by the
        // loop condition; loadu has no alignment requirement. The other intrinsics only need
        // AVX2, which the caller guarantees.
        let (n0, n1, mut cand) = unsafe {
            let a0 = _mm256_loadu_si256(ptr.add(i).cast());
            let a1 = _mm256_loadu_si256(ptr.add(i + 32).cast());
            let b0 = _mm256_loadu_si256(ptr.add(i + M - 1).cast());
            let b1 = _mm256_loadu_si256(ptr.add(i + 32 + M - 1).cast());
            // The byte 8 further is 'd' in "NVRM: Xid", 'e' in "NVRM: The", 'l' in "NVRM: fallen".
            let tail0 = _mm256_or_si256(
                _mm256_cmpeq_epi8(b0, last),
                _mm256_or_si256(_mm256_cmpeq_epi8(b0, ninth_e), _mm256_cmpeq_epi8(b0, ninth_l)),
            );
            let tail1 = _mm256_or_si256(
                _mm256_cmpeq_epi8(b1, last),
                _mm256_or_si256(_mm256_cmpeq_epi8(b1, ninth_e), _mm256_cmpeq_epi8(b1, ninth_l)),
            );
            let c0 = _mm256_and_si256(_mm256_cmpeq_epi8(a0, first), tail0);
            let c1 = _mm256_and_si256(_mm256_cmpeq_epi8(a1, first), tail1);
            let c = _mm256_or_si256(c0, c1);
            let hit = _mm256_testz_si256(c, c) == 0;
            let cand = if hit { join(_mm256_movemask_epi8(c0), _mm256_movemask_epi8(c1)) } else { 0 };
            (_mm256_cmpeq_epi8(a0, nl), _mm256_cmpeq_epi8(a1, nl), cand)
        };
        if cand != 0 {
            // SAFETY: AVX2 only (see above).
            #[allow(unused_unsafe)]
            let newlines = unsafe { join(_mm256_movemask_epi8(n0), _mm256_movemask_epi8(n1)) };
            while cand != 0 {
                let k = cand.trailing_zeros() as usize;
                if marker_at(hay, i + k) {
                    let below = newlines & ((1u64 << k) - 1);
                    // SAFETY: AVX2 only.
                    return (Some(i + k), lines + unsafe { total(acc) } + u64::from(below.count_ones()));
                }
                cand &= cand - 1;
            }
        }
        // A lane holds 0xff (-1) where a newline is; subtracting adds 1.
        // SAFETY: AVX2 only.
        #[allow(unused_unsafe)]
        unsafe {
            acc = _mm256_sub_epi8(_mm256_sub_epi8(acc, n0), n1);
        }
        blocks += 1;
        if blocks == FLUSH {
            // SAFETY: AVX2 only.
            #[allow(unused_unsafe)]
            unsafe {
                lines += total(acc);
                acc = _mm256_setzero_si256();
            }
            blocks = 0;
        }
        i += STEP;
    }
    // SAFETY: AVX2 only.
    lines += unsafe { total(acc) };
    // Every marker starting before `i` was tested above, so the first one is in the tail.
    let (hit, tail_lines) = find_portable(&hay[i..]);
    (hit.map(|h| i + h), lines + tail_lines)
}

/// Two 32-bit movemasks as one 64-bit mask, low half first.
#[cfg(target_arch = "x86_64")]
fn join(lo: i32, hi: i32) -> u64 {
    u64::from(lo as u32) | u64::from(hi as u32) << 32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every engine this machine can run, the portable one included.
    fn engines() -> Vec<Engine> {
        let mut v = vec![Engine::Portable];
        if Engine::detect() != Engine::Portable {
            v.push(Engine::detect());
        }
        v
    }

    /// Naive reference: (0-based line, offset) of each marker the scanner would act on, i.e. the
    /// first marker on a line, then the search goes on after that line's newline.
    fn naive(hay: &[u8]) -> Vec<(u64, usize)> {
        let mut out = vec![];
        let (mut line, mut i) = (0u64, 0);
        while i < hay.len() {
            if marker_at(hay, i) {
                out.push((line, i));
                match hay[i..].iter().position(|&b| b == b'\n') {
                    Some(j) => i += j,
                    None => break,
                }
            }
            if hay[i] == b'\n' {
                line += 1;
            }
            i += 1;
        }
        out
    }

    /// The same walk through `Engine::find`, the way `scan_lines` drives it.
    fn fast(engine: Engine, hay: &[u8]) -> (Vec<(u64, usize)>, u64) {
        let (mut out, mut line, mut from) = (vec![], 0u64, 0);
        loop {
            let (hit, nl) = engine.find(&hay[from..]);
            line += nl;
            let Some(rel) = hit else { return (out, line) };
            let at = from + rel;
            out.push((line, at));
            match memchr::memchr(b'\n', &hay[at..]) {
                Some(j) => {
                    line += 1;
                    from = at + j + 1;
                }
                None => return (out, line),
            }
        }
    }

    fn check(hay: &[u8]) {
        let want = naive(hay);
        let want_lines = hay.iter().filter(|&&b| b == b'\n').count() as u64;
        for e in engines() {
            assert_eq!(fast(e, hay), (want.clone(), want_lines), "{e:?} on {:?}", String::from_utf8_lossy(hay));
        }
    }

    #[test]
    fn marker_at_every_offset_around_blocks() {
        // A marker (and a near miss) at every offset across three 64-byte blocks and the tail,
        // so it straddles every vector and block boundary and the switch to the tail path.
        for len in [0, 8, 9, 71, 72, 73, 135, 136, 200] {
            for at in 0..=len {
                let mut hay: Vec<u8> = (0..len).map(|i| if i % 7 == 3 { b'\n' } else { b'N' }).collect();
                if at + XID_MARKER.len() <= len {
                    hay[at..at + XID_MARKER.len()].copy_from_slice(XID_MARKER);
                }
                check(&hay);
                if at + 9 <= len {
                    hay[at + 8] = b'D'; // "NVRM: XiD" is no marker
                    check(&hay);
                }
            }
        }
    }

    #[test]
    fn long_runs_of_newlines() {
        // Every byte a newline fills the per-lane counters fastest: markers before, at and after
        // the point where they are summed (127 blocks of 64 bytes), and none at all.
        for at in [None, Some(0), Some(8127), Some(8128), Some(8133), Some(16256), Some(40000), Some(49990)] {
            let mut hay = vec![b'\n'; 50_000];
            if let Some(at) = at {
                hay[at..at + XID_MARKER.len()].copy_from_slice(XID_MARKER);
            }
            check(&hay);
        }
    }

    /// The off-the-bus message's lines are markers at every offset around the blocks; the
    /// driver's other lines are not.
    #[test]
    fn off_bus_lines_are_markers() {
        for m in [&b"NVRM: The NVIDIA GPU 0000:b3:00.0"[..], b"NVRM: fallen off the bus and", b"NVRM: GPU at PCI:0"] {
            for at in [0, 5, 31, 32, 55, 63, 64, 70, 100, 130] {
                let mut hay = vec![b'x'; 200];
                hay[at..at + m.len()].copy_from_slice(m);
                hay[at + m.len()] = b'\n';
                check(&hay);
            }
        }
        assert_eq!(Engine::detect().find(b"NVRM: GPU at\nNVRM: fallen off the bus"), (Some(13), 1));
    }

    #[test]
    fn portable_is_always_available() {
        assert_eq!(Engine::Portable.find(b"a\nb\nNVRM: Xid 79\n"), (Some(4), 2));
        assert_eq!(Engine::detect().find(b"a\nb\n"), (None, 2));
    }

    /// Pieces that make markers, near misses and newlines common in arbitrary bytes.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(XID_MARKER.to_vec()),
            Just(b"\n".to_vec()),
            Just(b"NVRM: Xi".to_vec()),
            Just(b"NNVRM: Xid\n".to_vec()),
            Just(b"NVRM: The NVIDIA GPU 0000:b3:00.0".to_vec()),
            Just(b"NVRM: fallen off the bus".to_vec()),
            Just(b"NVRM: GPU at PCI:0000:3b:00".to_vec()),
            Just(b"NVRM: fallen".to_vec()),
            Just(b"d".to_vec()),
            prop::collection::vec(any::<u8>(), 0..80),
            prop::collection::vec(prop_oneof![Just(b'N'), Just(b'd'), Just(b'\n'), Just(b'x')], 0..40),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn same_as_naive(pieces in prop::collection::vec(piece(), 0..40), skip in 0usize..64) {
            let hay: Vec<u8> = pieces.concat();
            // Start at every alignment, so blocks fall at every offset of the data.
            let hay = &hay[skip.min(hay.len())..];
            let want = naive(hay);
            let want_lines = hay.iter().filter(|&&b| b == b'\n').count() as u64;
            for e in engines() {
                prop_assert_eq!(fast(e, hay), (want.clone(), want_lines), "{:?}", e);
            }
        }
    }
}
