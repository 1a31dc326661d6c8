//! The gzip source: arbitrary bytes compressed into one or two gzip members must scan exactly as
//! the plain bytes do (events, lines, summary), and the same bytes read as a corrupt gzip stream
//! (magic prepended) must end in an error or a result, never a panic or a hang.
#![no_main]

use gpuguard::xid::XidScanner;
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("in memory");
    gz.finish().expect("in memory")
}

fuzz_target!(|data: &[u8]| {
    let mut plain = XidScanner::new();
    let mut want = Vec::new();
    plain.scan_bytes(data, "log", &mut |e| want.push(e));

    // One member, then the input split into two members (`cat a.gz b.gz`): one stream of lines.
    let cut = data.first().map_or(0, |b| usize::from(*b) * data.len() / 256);
    for stream in [gzip(data), [gzip(&data[..cut]), gzip(&data[cut..])].concat()] {
        let mut z = XidScanner::new();
        let mut got = Vec::new();
        z.scan_gzip(&stream[..], "log", &mut |e| got.push(e)).expect("valid gzip");
        assert_eq!(got, want);
        assert_eq!(z.summary(), plain.summary());
    }

    // Garbage after the magic bytes, and a valid stream cut short: an error or events, no panic.
    let mut bad = vec![0x1f, 0x8b];
    bad.extend_from_slice(data);
    let _ = XidScanner::new().scan_gzip(&bad[..], "bad.gz", &mut |_| {});
    let whole = gzip(data);
    let _ = XidScanner::new().scan_gzip(&whole[..cut.min(whole.len())], "cut.gz", &mut |_| {});
});
