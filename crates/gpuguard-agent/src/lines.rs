//! Cuts a byte stream that arrives in arbitrary pieces into blocks of whole lines, holding back
//! the unfinished tail. Memory is bounded: a line longer than the limit keeps its first
//! `max_line` bytes (an XID message fits many times over) and the rest is skipped up to its end.

/// Reassembles whole lines across reads.
#[derive(Debug)]
pub struct LineAssembler {
    partial: Vec<u8>,
    max_line: usize,
    /// The held-back line hit the limit: drop input until its newline.
    skipping: bool,
}

impl LineAssembler {
    /// An assembler that keeps at most `max_line` bytes of an unfinished line.
    pub fn new(max_line: usize) -> Self {
        LineAssembler { partial: Vec::new(), max_line: max_line.max(1), skipping: false }
    }

    /// Feeds `data`; `sink` gets blocks of whole lines, each block ending in `\n`.
    ///
    /// ```
    /// let mut a = gpuguard_agent::LineAssembler::new(1024);
    /// let mut got = Vec::new();
    /// a.push(b"first li", &mut |b| got.extend_from_slice(b));
    /// a.push(b"ne\nsecond\nthi", &mut |b| got.extend_from_slice(b));
    /// assert_eq!(got, b"first line\nsecond\n");
    /// a.finish(&mut |b| got.extend_from_slice(b));
    /// assert_eq!(got, b"first line\nsecond\nthi\n");
    /// ```
    pub fn push(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8])) {
        let Some(last) = memchr::memrchr(b'\n', data) else {
            self.hold(data);
            return;
        };
        let first = memchr::memchr(b'\n', data).unwrap_or(last);
        // The line that was waiting ends at the first newline.
        if !self.partial.is_empty() || self.skipping {
            self.hold(&data[..first]);
            self.partial.push(b'\n');
            sink(&self.partial);
            self.partial.clear();
            self.skipping = false;
        } else {
            sink(&data[..=first]);
        }
        if last > first {
            sink(&data[first + 1..=last]);
        }
        self.hold(&data[last + 1..]);
    }

    /// Hands over an unfinished last line (the file was rotated or closed).
    pub fn finish(&mut self, sink: &mut dyn FnMut(&[u8])) {
        if !self.partial.is_empty() {
            self.partial.push(b'\n');
            sink(&self.partial);
        }
        self.partial.clear();
        self.skipping = false;
    }

    fn hold(&mut self, data: &[u8]) {
        let room = self.max_line.saturating_sub(self.partial.len());
        if data.len() > room {
            self.skipping = true;
        }
        self.partial.extend_from_slice(&data[..data.len().min(room)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(pieces: &[&[u8]], max: usize) -> Vec<u8> {
        let mut a = LineAssembler::new(max);
        let mut out = Vec::new();
        for p in pieces {
            a.push(p, &mut |b| {
                assert_eq!(b.last(), Some(&b'\n'));
                out.extend_from_slice(b);
            });
        }
        a.finish(&mut |b| out.extend_from_slice(b));
        out
    }

    #[test]
    fn long_lines_are_cut_not_buffered() {
        let long = vec![b'x'; 10_000];
        let out = run(&[b"ab", &long, &long, b"\nnext\n"], 16);
        assert_eq!(out, b"abxxxxxxxxxxxxxx\nnext\n");
    }

    proptest! {
        /// However the stream is split, the same lines come out (lines within the limit).
        #[test]
        fn any_split_gives_the_same_lines(text in "[a-z\n]{0,200}", cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                pieces.push(&bytes[at..c]);
                at = c;
            }
            let mut want = bytes.to_vec();
            if !want.is_empty() && want.last() != Some(&b'\n') {
                want.push(b'\n');
            }
            prop_assert_eq!(run(&pieces, 1024), want);
        }
    }
}
