//! Kubernetes resource quantities (`2`, `"2"`, `500m`, `16Gi`, `1e3`), parsed exactly enough to
//! compare them numerically and to tell whole numbers from fractions, as the API server does.

use crate::{Error, Result};
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
}
