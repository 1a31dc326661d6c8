//! Parser of `nvidia-smi -q` / `nvidia-smi -q -d ECC` text. The format is indented
//! `Key : Value` lines under section headers; both the Volta-era layout (Single Bit / Double
//! Bit … Total) and the Ampere+ layout (SRAM/DRAM Correctable/Uncorrectable) are read.

use serde::Serialize;

/// ECC state of one GPU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GpuEcc {
    /// Bus id as nvidia-smi writes it (`00000000:3B:00.0`).
    pub gpu: String,
    /// Product name, when listed.
    pub product: Option<String>,
    /// ECC mode `Current` (`Enabled`/`Disabled`), when listed.
    pub ecc_mode: Option<String>,
    /// Corrected (single-bit) errors since the driver loaded.
    pub volatile_corrected: Option<u64>,
    /// Uncorrected (double-bit) errors since the driver loaded.
    pub volatile_uncorrected: Option<u64>,
    /// Corrected errors over the GPU's life.
    pub aggregate_corrected: Option<u64>,
    /// Uncorrected errors over the GPU's life.
    pub aggregate_uncorrected: Option<u64>,
    /// Pages retired for single-bit errors.
    pub retired_pages_sbe: Option<u64>,
    /// Pages retired for double-bit errors.
    pub retired_pages_dbe: Option<u64>,
    /// A retirement waits for the next driver reload.
    pub retired_pages_pending: Option<bool>,
    /// Rows remapped for correctable errors.
    pub remapped_rows_correctable: Option<u64>,
    /// Rows remapped for uncorrectable errors.
    pub remapped_rows_uncorrectable: Option<u64>,
    /// A remap waits for a GPU reset.
    pub remapped_rows_pending: Option<bool>,
    /// A remap failed: the GPU must be replaced.
    pub remapped_rows_failure: Option<bool>,
}

/// Adds a unit's count to the GPU's sum, saturating: a corrupt or hostile `-q` text with huge
/// counters must not overflow (a panic in debug builds, a wrapped small count in release).
fn add(slot: &mut Option<u64>, v: Option<u64>) {
    if let Some(v) = v {
        *slot = Some(slot.unwrap_or(0).saturating_add(v));
    }
}

fn yes(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "enabled" => Some(true),
        "no" | "false" | "disabled" => Some(false),
        _ => None,
    }
}

/// Parses every GPU block of `nvidia-smi -q` text. Counters nvidia-smi prints as `N/A` stay
/// `None`; GPUs without ECC sections still appear (with `None` counters).
///
/// ```
/// let text = "GPU 00000000:3B:00.0\n    ECC Errors\n        Volatile\n            DRAM Correctable : 12\n            DRAM Uncorrectable : 0\n    Remapped Rows\n        Pending : Yes\n        Remapping Failure Occurred : No\n";
/// let gpus = gpuguard::ecc::parse_nvidia_smi_q(text);
/// assert_eq!(gpus[0].volatile_corrected, Some(12));
/// assert_eq!(gpus[0].remapped_rows_pending, Some(true));
/// ```
pub fn parse_nvidia_smi_q(text: &str) -> Vec<GpuEcc> {
    let mut gpus: Vec<GpuEcc> = Vec::new();
    // Section path by indentation: (indent, name).
    let mut stack: Vec<(usize, String)> = Vec::new();
    // Old layout: a "Total" replaces the per-unit lines before it, so remember the unit sum.
    for raw in text.lines() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let content = line.trim();
        if indent == 0 {
            stack.clear();
            if let Some(id) = content.strip_prefix("GPU ") {
                gpus.push(GpuEcc { gpu: id.trim().to_owned(), ..GpuEcc::default() });
            }
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let Some(gpu) = gpus.last_mut() else { continue };
        let Some((key, value)) = content.split_once(" :").or_else(|| content.split_once(':')) else {
            stack.push((indent, content.to_owned()));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if value.is_empty() {
            stack.push((indent, key.to_owned()));
            continue;
        }
        let n = value.split_whitespace().next().and_then(|v| v.parse::<u64>().ok());
        let path: Vec<&str> = stack.iter().map(|(_, s)| s.as_str()).collect();
        match path.as_slice() {
            [] if key == "Product Name" => gpu.product = Some(value.to_owned()),
            ["ECC Mode"] if key == "Current" => gpu.ecc_mode = Some(value.to_owned()),
            ["ECC Errors", scope, rest @ ..] => {
                let volatile = scope.eq_ignore_ascii_case("Volatile");
                let (corr, unc) = if volatile {
                    (&mut gpu.volatile_corrected, &mut gpu.volatile_uncorrected)
                } else {
                    (&mut gpu.aggregate_corrected, &mut gpu.aggregate_uncorrected)
                };
                match rest {
                    // Old layout: only the Total line counts.
                    ["Single Bit"] if key == "Total" => *corr = n.or(*corr),
                    ["Double Bit"] if key == "Total" => *unc = n.or(*unc),
                    [] if key.contains("Uncorrectable") => add(unc, n),
                    [] if key.contains("Correctable") => add(corr, n),
                    _ => {}
                }
            }
            ["Retired Pages", ..] => match key {
                "Single Bit ECC" => gpu.retired_pages_sbe = n.or(gpu.retired_pages_sbe),
                "Double Bit ECC" => gpu.retired_pages_dbe = n.or(gpu.retired_pages_dbe),
                k if k.starts_with("Pending") => gpu.retired_pages_pending = yes(value),
                _ => {}
            },
            ["Remapped Rows"] => match key {
                "Correctable Error" => gpu.remapped_rows_correctable = n,
                "Uncorrectable Error" => gpu.remapped_rows_uncorrectable = n,
                "Pending" => gpu.remapped_rows_pending = yes(value),
                "Remapping Failure Occurred" => gpu.remapped_rows_failure = yes(value),
                _ => {}
            },
            _ => {}
        }
    }
    gpus
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The snapshot time from the `Timestamp : Tue Mar  5 10:12:01 2024` header, in seconds since
/// the Unix epoch read as UTC (nvidia-smi writes local time; only differences matter for rates).
/// `None` when the line is missing or malformed, or a field is out of range (day 1–31, hour
/// 0–23, minute 0–59, second 0–60, year 0–9999), so the date math below cannot overflow.
///
/// ```
/// let t = gpuguard::ecc::smi_timestamp_seconds("Timestamp : Thu Jan  1 01:00:00 1970\n");
/// assert_eq!(t, Some(3600.0));
/// ```
pub fn smi_timestamp_seconds(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with("Timestamp"))?;
    let value = line.split_once(':')?.1;
    let f: Vec<&str> = value.split_whitespace().collect();
    let [_, mon, day, hms, year] = f.as_slice() else { return None };
    let m = MONTHS.iter().position(|x| x == mon)? as i64 + 1;
    let d: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let y: i64 = year.parse().ok().filter(|y| (0..=9999).contains(y))?;
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    if t.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..=60).contains(&s) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + s) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOLTA: &str = include_str!("../../tests/fixtures/ecc/nvidia-smi-q-v100.txt");
    const HOPPER: &str = include_str!("../../tests/fixtures/ecc/nvidia-smi-q-h100.txt");

    #[test]
    fn volta_layout() {
        let g = parse_nvidia_smi_q(VOLTA);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].gpu, "00000000:00:1E.0");
        assert_eq!((g[0].volatile_corrected, g[0].volatile_uncorrected), (Some(3), Some(0)));
        assert_eq!((g[0].aggregate_corrected, g[0].aggregate_uncorrected), (Some(1207), Some(2)));
        assert_eq!(
            (g[0].retired_pages_sbe, g[0].retired_pages_dbe, g[0].retired_pages_pending),
            (Some(4), Some(2), Some(true))
        );
        assert_eq!(g[0].remapped_rows_pending, None);
    }

    #[test]
    fn hopper_layout() {
        let g = parse_nvidia_smi_q(HOPPER);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].product.as_deref(), Some("NVIDIA H100 80GB HBM3"));
        assert_eq!(g[0].ecc_mode.as_deref(), Some("Enabled"));
        assert_eq!((g[0].volatile_corrected, g[0].volatile_uncorrected), (Some(0), Some(0)));
        assert_eq!((g[1].volatile_corrected, g[1].volatile_uncorrected), (Some(17), Some(1)));
        assert_eq!(g[1].aggregate_corrected, Some(5123));
        assert_eq!(
            (g[1].remapped_rows_uncorrectable, g[1].remapped_rows_pending, g[1].remapped_rows_failure),
            (Some(1), Some(true), Some(false))
        );
        assert_eq!(g[1].retired_pages_sbe, None); // N/A on Hopper
    }

    #[test]
    fn counter_sums_saturate() {
        // Found by the nvidia_smi_q fuzz target: two units whose counts add past u64::MAX.
        let text = "GPU 0\n    ECC Errors\n        Volatile\n            SRAM Correctable : 18446744073709551615\n            DRAM Correctable : 1\n            SRAM Uncorrectable : 18446744073709551615\n            DRAM Uncorrectable : 18446744073709551615\n";
        let g = parse_nvidia_smi_q(text);
        assert_eq!((g[0].volatile_corrected, g[0].volatile_uncorrected), (Some(u64::MAX), Some(u64::MAX)));
    }

    #[test]
    fn timestamp_out_of_range_is_none_not_overflow() {
        // A year this big overflowed `days * 86_400` (i64); the other fields overflowed likewise.
        for bad in [
            "Timestamp : Thu Jan  1 00:00:00 999999999999999",
            "Timestamp : Thu Jan  1 00:00:00 -9223372036854775808",
            "Timestamp : Thu Jan -9223372036854775808 00:00:00 1970",
            "Timestamp : Thu Jan  1 9223372036854775807:00:00 1970",
            "Timestamp : Thu Jan  1 00:00:9223372036854775807 1970",
            "Timestamp : Thu Jan 32 00:00:00 1970",
            "Timestamp : Thu Jan  1 24:00:00 1970",
            "Timestamp : Thu Jan  1 00:00:00:00 1970",
        ] {
            assert_eq!(smi_timestamp_seconds(bad), None, "{bad}");
        }
        assert_eq!(smi_timestamp_seconds("Timestamp : Fri Dec 31 23:59:60 9999"), Some(253_402_300_800.0));
        assert_eq!(smi_timestamp_seconds("Timestamp : Tue Mar  5 10:12:01 2024"), Some(1_709_633_521.0));
    }
}
