//! Quantities, parsed exactly: Kubernetes resource quantities ([`Quantity`]: `2`, `500m`, `16Gi`,
//! `1e3`) as the API server reads them, and byte sizes as people type them on a command line
//! ([`ByteSize`]: `64Mi`, `512m`, `2g`, `64MB`, `1.5GiB`), which says how it read each one.

use crate::{Error, Result};
use serde::Serialize;
use std::fmt;

/// A parsed Kubernetes quantity.
///
/// The value is `mantissa / 10^scale × 10^exp10 × 2^exp2`, kept apart so that "is this a whole
/// number" is answered exactly (`1000m` is 1, `0.5` is not) and not through float rounding.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    text: String,
    negative: bool,
    mantissa: u128,
    scale: u32,
    exp10: i32,
    exp2: u32,
}

impl Quantity {
    /// Parses a quantity as Kubernetes writes it.
    ///
    /// ```
    /// use gpuguard::Quantity;
    /// assert_eq!(Quantity::parse("16Gi").unwrap().to_bytes(), Some(16 << 30));
    /// assert_eq!(Quantity::parse("1000m").unwrap().as_f64(), 1.0);
    /// assert!(Quantity::parse("1000m").unwrap().is_whole());
    /// assert!(!Quantity::parse("0.5").unwrap().is_whole());
    /// assert!(Quantity::parse("two").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Quantity> {
        let bad = |why: &str| Error::invalid("quantity", format!("{text:?} is not a Kubernetes quantity: {why}"));
        let s = text.trim();
        let (negative, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (number, suffix) = s.split_at(number_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(bad("expected a number"));
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 36 {
            return Err(bad("too many digits"));
        }
        let mantissa =
            if digits.is_empty() { 0 } else { digits.parse::<u128>().map_err(|_| bad("expected digits"))? };
        let scale = frac_part.len() as u32;
        let (exp10, exp2) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            exp if exp.starts_with(['e', 'E']) => {
                let e: i32 = exp[1..].parse().map_err(|_| bad("bad exponent"))?;
                if !(-60..=60).contains(&e) {
                    return Err(bad("exponent out of range"));
                }
                (e, 0)
            }
            other => return Err(bad(&format!("unknown suffix {other:?}"))),
        };
        Ok(Quantity { text: text.to_owned(), negative, mantissa, scale, exp10, exp2 })
    }

    /// The quantity as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value as a float (exact for every quantity people write for GPUs and memory).
    pub fn as_f64(&self) -> f64 {
        let v = self.mantissa as f64 * 10f64.powi(self.exp10 - self.scale as i32) * 2f64.powi(self.exp2 as i32);
        if self.negative { -v } else { v }
    }

    /// Whether the value is negative.
    pub fn is_negative(&self) -> bool {
        self.negative && self.mantissa != 0
    }

    /// Whether the value is a whole number, decided exactly.
    pub fn is_whole(&self) -> bool {
        let down = self.scale as i32 - self.exp10;
        if down <= 0 || self.mantissa == 0 {
            return true;
        }
        // mantissa × 2^exp2 must be divisible by 10^down.
        let Some(divisor) = 10u128.checked_pow(down as u32) else { return false };
        match self.mantissa.checked_mul(1u128 << self.exp2.min(100)) {
            Some(n) => n % divisor == 0,
            None => self.as_f64().fract() == 0.0,
        }
    }

    /// The value in bytes (or units), rounded up as Kubernetes does; `None` when negative or
    /// beyond `u128`.
    pub fn to_bytes(&self) -> Option<u128> {
        if self.is_negative() {
            return None;
        }
        let shifted = self.mantissa.checked_mul(1u128.checked_shl(self.exp2)?)?;
        let e = self.exp10 - self.scale as i32;
        if e >= 0 {
            shifted.checked_mul(10u128.checked_pow(e as u32)?)
        } else {
            let d = 10u128.checked_pow((-e) as u32)?;
            Some(shifted.div_ceil(d))
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Formats a byte count as the shortest exact binary quantity (`8Gi`, `1536Mi`, `100`).
///
/// ```
/// assert_eq!(gpuguard::math::quantity::format_bytes(8 << 30), "8Gi");
/// assert_eq!(gpuguard::math::quantity::format_bytes(1536 << 20), "1536Mi");
/// assert_eq!(gpuguard::math::quantity::format_bytes(1000), "1000");
/// ```
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u32); 5] = [("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)];
    for (unit, shift) in UNITS {
        if bytes != 0 && bytes % (1u64 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Formats bytes for people: `64.0 MiB`, `1.5 GiB`.
///
/// ```
/// assert_eq!(gpuguard::math::quantity::human_bytes(64 << 20), "64.0 MiB");
/// ```
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[i]) }
}

/// Which convention a [`ByteSize`]'s unit was read in. The conventions disagree on the same
/// letters (`m` is milli in Kubernetes and MiB in Docker; `M` is 10⁶ in Kubernetes and 2²⁰ in
/// Docker), so the rule is by spelling, and every reading is echoed back to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ByteConvention {
    /// No unit (or `B`): bytes.
    Bytes,
    /// A unit with an `i` (`Ki`, `Mi`, `GiB`, `mib`): powers of 1024, as in Kubernetes and IEC.
    Binary,
    /// An upper-case unit without `i` (`k`-less `M`, `G`, `K`, `MB`, `kB`): powers of 1000, as in
    /// Kubernetes (`64M` is 64,000,000) and SI.
    Decimal,
    /// An all-lower-case unit (`k`, `m`, `g`, `mb`): Docker's `--shm-size`/`--memory` units,
    /// powers of 1024 (`512m` is 512 MiB). Kubernetes' `m` (milli) means nothing for bytes.
    Docker,
    /// A decimal exponent (`1e9`), as Kubernetes allows.
    Exponent,
}

/// A byte size given on a command line or to a Python function, with how it was read.
///
/// Accepted: plain bytes (`8388608`); Kubernetes quantities (`64Mi`, `8Gi`, `64M`, `1e9`); Docker
/// sizes (`512m`, `2g`, `--shm-size` reads lower-case letters as MiB, GiB); units people type
/// (`64MB`, `64MiB`, `1.5 GiB`). The rule, by spelling: a unit with `i` is binary (1024); an
/// all-lower-case unit is Docker's, binary; any other (`M`, `G`, `MB`, `kB`) is decimal (1000).
/// A value that is not a whole number of bytes, negative, or beyond 2⁶⁴ is an error that says
/// how the text was read.
///
/// ```
/// use gpuguard::ByteSize;
/// assert_eq!(ByteSize::parse("512m").unwrap().bytes(), 512 << 20); // Docker's m, not milli
/// assert_eq!(ByteSize::parse("512Mi").unwrap().bytes(), 512 << 20);
/// assert_eq!(ByteSize::parse("64M").unwrap().bytes(), 64_000_000); // Kubernetes' M
/// assert_eq!(ByteSize::parse("1.5GiB").unwrap().bytes(), 3 << 29);
/// assert_eq!(ByteSize::parse("512m").unwrap().reading(), "512m read as 512 MiB = 536870912 bytes (Docker's m; Kubernetes' m would be milli)");
/// let e = ByteSize::parse("1.3Ki").unwrap_err().to_string();
/// assert!(e.contains("1331.2 bytes"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ByteSize {
    text: String,
    bytes: u64,
    /// The number as written, without the unit (`1.5`).
    number: String,
    /// The unit as read (`MiB`, `MB`, `bytes`).
    unit: &'static str,
    convention: ByteConvention,
}

/// A parsed unit: the power of its base (k = 1, M = 2, …) and the convention it was read in.
struct Unit {
    power: u32,
    convention: ByteConvention,
}

const BINARY_NAMES: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const DECIMAL_NAMES: [&str; 7] = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];

/// Reads a unit by its spelling (see [`ByteSize`]): with `i`, binary; all lower case, Docker's
/// (binary); otherwise decimal. `Mb` (bits) and unknown letters are errors.
fn unit_of(suffix: &str) -> std::result::Result<Unit, String> {
    use ByteConvention::*;
    let unknown = || format!("unknown unit {suffix:?}; expected one such as Mi, MiB, M, MB or Docker's m");
    if matches!(suffix, "" | "B" | "b") {
        return Ok(Unit { power: 0, convention: Bytes });
    }
    let mut chars = suffix.chars();
    let letter = chars.next().ok_or_else(unknown)?;
    let rest = chars.as_str();
    let power = "kmgtpe".find(letter.to_ascii_lowercase()).ok_or_else(unknown)? as u32 + 1;
    let all_lower = !suffix.bytes().any(|b| b.is_ascii_uppercase());
    let convention = match rest {
        "i" | "I" | "iB" | "ib" | "IB" | "Ib" => Binary,
        // Docker has no exa unit (and a lone `e` is an unfinished exponent).
        "" | "b" if all_lower && letter == 'e' => return Err(unknown()),
        "" | "b" if all_lower => Docker,
        "b" => {
            return Err(format!(
                "{suffix} reads as bits; write {letter}B (decimal) or {}iB (binary)",
                letter.to_ascii_uppercase()
            ));
        }
        "" | "B" => Decimal,
        _ => return Err(unknown()),
    };
    Ok(Unit { power, convention })
}

impl ByteSize {
    /// Parses a byte size (see the type's docs for the forms and the rule).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] named `size` when the text is not a size, is negative, is not a
    /// whole number of bytes (the message says how it was read) or exceeds `u64`.
    pub fn parse(text: &str) -> Result<ByteSize> {
        let bad = |why: String| Error::invalid("size", format!("{text:?} is not a byte size: {why}"));
        let s = text.trim();
        if s.starts_with('-') {
            return Err(bad("it is negative".into()));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let number_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (number, suffix) = s.split_at(number_end);
        let suffix = suffix.trim_start();
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(bad("expected a number such as 64Mi, 512m or 2GiB".into()));
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        let frac_part = frac_part.trim_end_matches('0');
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 30 {
            return Err(bad("too many digits".into()));
        }
        let mantissa: u128 =
            if digits.is_empty() { 0 } else { digits.parse().map_err(|_| bad("expected digits".into()))? };
        // value = mantissa × 2^shift × 10^exp10, where exp10 already counts the fraction digits.
        let exponent = suffix
            .strip_prefix(['e', 'E'])
            .filter(|e| !e.is_empty() && e.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit()));
        let (shift, exp10, unit, convention) = match exponent {
            Some(exp) => {
                let e: i32 = exp.parse().map_err(|_| bad("bad exponent".into()))?;
                if !(-30..=30).contains(&e) {
                    return Err(bad("exponent out of range".into()));
                }
                (0, e, "bytes", ByteConvention::Exponent)
            }
            None => {
                let u = unit_of(suffix).map_err(bad)?;
                let p = u.power as usize;
                if matches!(u.convention, ByteConvention::Binary | ByteConvention::Docker) {
                    (10 * u.power, 0, BINARY_NAMES[p], u.convention)
                } else {
                    (0, 3 * p as i32, DECIMAL_NAMES[p], u.convention)
                }
            }
        };
        let exp10 = exp10 - frac_part.len() as i32;
        let too_big = || bad("larger than 16 EiB".into());
        let mut numerator = mantissa.checked_mul(1u128 << shift).ok_or_else(too_big)?;
        if exp10 > 0 {
            numerator = numerator.checked_mul(10u128.pow(exp10.unsigned_abs())).ok_or_else(too_big)?;
        }
        // A denominator beyond u128 means a value far below one byte (or zero).
        let denominator = match 10u128.checked_pow(exp10.min(0).unsigned_abs()) {
            Some(d) => d,
            None if numerator == 0 => 1,
            None => u128::MAX,
        };
        if numerator % denominator != 0 {
            let value = numerator as f64 / denominator as f64;
            let read = match convention {
                ByteConvention::Bytes | ByteConvention::Exponent => format!("{} is", s.trim()),
                _ => format!("{} read as {number} {unit} is", s.trim()),
            };
            return Err(Error::invalid("size", format!("{read} {value} bytes, not a whole number of bytes")));
        }
        let bytes = u64::try_from(numerator / denominator).map_err(|_| too_big())?;
        Ok(ByteSize { text: text.trim().to_owned(), bytes, number: number.to_owned(), unit, convention })
    }

    /// The size in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The text as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The convention the unit was read in.
    pub fn convention(&self) -> ByteConvention {
        self.convention
    }

    /// How the text was read, for output: `512m read as 512 MiB = 536870912 bytes (Docker's m;
    /// Kubernetes' m would be milli)`. A note follows whenever another convention reads the same
    /// text differently.
    pub fn reading(&self) -> String {
        let first = self.text.chars().find(|c| c.is_ascii_alphabetic()).unwrap_or(' ');
        let note = match self.convention {
            ByteConvention::Bytes => return format!("{} bytes", self.bytes),
            ByteConvention::Exponent => return format!("{} read as {} bytes", self.text, self.bytes),
            ByteConvention::Binary => String::new(),
            ByteConvention::Docker if first == 'm' => " (Docker's m; Kubernetes' m would be milli)".to_owned(),
            ByteConvention::Docker if first == 'k' => {
                " (Docker's k; Kubernetes' k would be 1000: write 1000 or kB for decimal)".to_owned()
            }
            ByteConvention::Docker => {
                format!(" (Docker's {first}; Kubernetes' {} would be decimal)", first.to_ascii_uppercase())
            }
            ByteConvention::Decimal => {
                format!(" (decimal; {}{}i is the binary unit)", self.number, first.to_ascii_uppercase())
            }
        };
        format!("{} read as {} {} = {} bytes{note}", self.text, self.number, self.unit, self.bytes)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ByteSize::parse(s)
    }
}

/// Formats a byte count the way `docker run --shm-size` (and `--memory`) is written: Docker's
/// lower-case binary units, the largest that is exact (`2g`, `1536m`, `64k`), else bytes.
///
/// ```
/// use gpuguard::math::quantity::docker_size;
/// assert_eq!(docker_size(2 << 30), "2g");
/// assert_eq!(docker_size(1536 << 20), "1536m");
/// assert_eq!(docker_size(1000), "1000");
/// ```
pub fn docker_size(bytes: u64) -> String {
    for (unit, shift) in [("g", 30), ("m", 20), ("k", 10)] {
        if bytes != 0 && bytes % (1u64 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        for (text, value, whole) in [
            ("2", 2.0, true),
            ("+2", 2.0, true),
            ("0", 0.0, true),
            ("1.5", 1.5, false),
            ("500m", 0.5, false),
            ("2000m", 2.0, true),
            ("1k", 1000.0, true),
            ("1e3", 1000.0, true),
            ("1E-1", 0.1, false),
            ("64Mi", 67108864.0, true),
            ("0.5Gi", 536870912.0, true),
            ("100n", 1e-7, false),
        ] {
            let q = Quantity::parse(text).unwrap();
            assert!((q.as_f64() - value).abs() < 1e-12 * value.max(1.0), "{text}");
            assert_eq!(q.is_whole(), whole, "{text}");
        }
        assert!(Quantity::parse("-1").unwrap().is_negative());
        for bad in ["", "Gi", "1.2.3", "1 Gi", "1gi", "1e", "abc", "1..", "."] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bytes_round_up() {
        assert_eq!(Quantity::parse("1.5Ki").unwrap().to_bytes(), Some(1536));
        assert_eq!(Quantity::parse("1500m").unwrap().to_bytes(), Some(2));
        assert_eq!(Quantity::parse("8G").unwrap().to_bytes(), Some(8_000_000_000));
    }

    /// Every spelling people use, with the bytes it means and the convention it was read in.
    #[test]
    fn byte_sizes_by_spelling() {
        use ByteConvention::*;
        const MI: u64 = 1 << 20;
        for (text, bytes, convention) in [
            ("8388608", 8 * MI, Bytes),
            ("100B", 100, Bytes),
            ("100b", 100, Bytes),
            // Kubernetes quantities.
            ("64Mi", 64 * MI, Binary),
            ("8Gi", 8 << 30, Binary),
            ("64M", 64_000_000, Decimal),
            ("8G", 8_000_000_000, Decimal),
            ("1e9", 1_000_000_000, Exponent),
            ("1.5E3", 1500, Exponent),
            ("0.5Gi", 512 * MI, Binary),
            // Docker's --shm-size forms: lower case is binary, and m is MiB, never milli.
            ("512m", 512 * MI, Docker),
            ("2g", 2 << 30, Docker),
            ("1k", 1024, Docker),
            ("1t", 1 << 40, Docker),
            ("512mb", 512 * MI, Docker),
            // Units people type, with the case they use.
            ("64MB", 64_000_000, Decimal),
            ("1kB", 1000, Decimal),
            ("1KB", 1000, Decimal),
            ("1K", 1000, Decimal),
            ("64MiB", 64 * MI, Binary),
            ("64mib", 64 * MI, Binary),
            ("64MIB", 64 * MI, Binary),
            ("1.5GiB", 3 << 29, Binary),
            ("1.5 GiB", 3 << 29, Binary),
            ("1.5g", 3 << 29, Docker),
            ("1.10MB", 1_100_000, Decimal),
            (" +2Gi ", 2 << 30, Binary),
            ("0", 0, Bytes),
        ] {
            let b = ByteSize::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!((b.bytes(), b.convention()), (bytes, convention), "{text:?}");
        }
    }

    #[test]
    fn the_same_letters_in_different_conventions() {
        // The issue's case: Docker's 512m and Kubernetes' 512Mi are the same size.
        assert_eq!(ByteSize::parse("512m").unwrap().bytes(), ByteSize::parse("512Mi").unwrap().bytes());
        assert_ne!(ByteSize::parse("512M").unwrap().bytes(), ByteSize::parse("512m").unwrap().bytes());
        // The Kubernetes parser still reads manifests as the API server does.
        assert_eq!(Quantity::parse("512m").unwrap().as_f64(), 0.512);
        assert_eq!(Quantity::parse("1k").unwrap().to_bytes(), Some(1000));
    }

    #[test]
    fn readings_say_which_convention() {
        let r = |t: &str| ByteSize::parse(t).unwrap().reading();
        assert_eq!(r("512m"), "512m read as 512 MiB = 536870912 bytes (Docker's m; Kubernetes' m would be milli)");
        assert_eq!(r("64MB"), "64MB read as 64 MB = 64000000 bytes (decimal; 64Mi is the binary unit)");
        assert_eq!(r("64M"), "64M read as 64 MB = 64000000 bytes (decimal; 64Mi is the binary unit)");
        assert_eq!(r("2g"), "2g read as 2 GiB = 2147483648 bytes (Docker's g; Kubernetes' G would be decimal)");
        assert!(r("1k").contains("Kubernetes' k would be 1000"), "{}", r("1k"));
        assert_eq!(r("64Mi"), "64Mi read as 64 MiB = 67108864 bytes");
        assert_eq!(r("1e3"), "1e3 read as 1000 bytes");
        assert_eq!(r("4096"), "4096 bytes");
    }

    #[test]
    fn byte_size_errors_say_how_it_was_read() {
        for (text, says) in [
            ("1.3Ki", "1.3Ki read as 1.3 KiB is 1331.2 bytes, not a whole number of bytes"),
            ("0.5", "0.5 is 0.5 bytes, not a whole number"),
            ("1.5", "not a whole number"),
            ("1e-1", "not a whole number"),
            ("-1Gi", "negative"),
            ("64Mb", "bits"),
            ("2 gigs", "unknown unit"),
            ("1e", "unknown unit"),
            ("Gi", "expected a number"),
            ("", "expected a number"),
            ("1.2.3", "expected a number"),
            ("16Ei", "larger than 16 EiB"),
            ("99999999999999999999", "larger than 16 EiB"),
            ("1e31", "exponent out of range"),
            ("0.0000000000000000000000000000000000000001", "not a whole number"),
        ] {
            let e = ByteSize::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(e.starts_with("invalid argument `size`"), "{text:?}: {e}");
        }
    }

    #[test]
    fn docker_sizes_are_written_as_docker_users_write_them() {
        assert_eq!(docker_size(2 << 30), "2g");
        assert_eq!(docker_size(26 << 30), "26g");
        assert_eq!(docker_size(1536 << 20), "1536m");
        assert_eq!(docker_size(0), "0");
        for b in [1u64, 1024, 3 << 20, 7 << 30, 12345] {
            assert_eq!(ByteSize::parse(&docker_size(b)).unwrap().bytes(), b);
        }
    }

    proptest::proptest! {
        #[test]
        fn byte_size_never_panics(s in "\\PC{0,24}") {
            let _ = ByteSize::parse(&s);
        }

        #[test]
        fn binary_forms_round_trip(n in 0u64..(1 << 33), unit in 0usize..4) {
            let (suffixes, shift) = ([["", "B", "b"], ["Ki", "KiB", "k"], ["Mi", "MiB", "m"], ["Gi", "GiB", "g"]][unit], 10 * unit as u32);
            for sfx in suffixes {
                let b = ByteSize::parse(&format!("{n}{sfx}")).unwrap();
                proptest::prop_assert_eq!(b.bytes(), n << shift);
            }
        }
    }
}
