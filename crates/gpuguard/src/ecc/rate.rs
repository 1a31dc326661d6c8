//! Rate of corrected ECC errors over samples: the absolute count says little, a fast climb
//! says an uncorrectable error is coming.

use crate::error::{Error, Result};
use serde::Serialize;

/// One observation of a GPU's corrected-error counter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EccSample {
    /// When, in seconds (any epoch, the same for every sample).
    pub time_seconds: f64,
    /// Corrected errors counted at that time (volatile or aggregate, but always the same one).
    pub corrected: u64,
}

/// The rate over a series of samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EccRate {
    /// Corrected errors added across the whole series (counter resets counted from zero).
    pub increase: u64,
    /// Average rate over the whole series, per hour.
    pub per_hour: f64,
    /// Highest rate between two consecutive samples, per hour.
    pub peak_per_hour: f64,
    /// Whether the peak rate is above the threshold.
    pub alert: bool,
}

/// Corrected-error rate over `samples` (sorted by time here), alerting when the rate between
/// any two consecutive samples exceeds `threshold_per_hour`. A counter that goes down (driver
/// reload resets volatile counters) is taken as a reset: its new value is the increase.
///
/// ```
/// use gpuguard::ecc::{EccSample, corrected_error_rate};
/// let s = [EccSample { time_seconds: 0.0, corrected: 100 }, EccSample { time_seconds: 3600.0, corrected: 160 }];
/// let r = corrected_error_rate(&s, 50.0).unwrap();
/// assert_eq!((r.increase, r.per_hour, r.alert), (60, 60.0, true));
/// assert!(corrected_error_rate(&s[..1], 50.0).is_err());
/// ```
pub fn corrected_error_rate(samples: &[EccSample], threshold_per_hour: f64) -> Result<EccRate> {
    crate::error::check_non_negative("threshold_per_hour", threshold_per_hour, false)?;
    if samples.len() < 2 {
        return Err(Error::invalid("samples", format!("need at least 2 samples, got {}", samples.len())));
    }
    if let Some(s) = samples.iter().find(|s| !s.time_seconds.is_finite()) {
        return Err(Error::invalid("samples", format!("time_seconds must be finite, got {}", s.time_seconds)));
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.time_seconds.total_cmp(&b.time_seconds));
    let span = sorted[sorted.len() - 1].time_seconds - sorted[0].time_seconds;
    if span <= 0.0 {
        return Err(Error::invalid("samples", "all samples have the same time; need a time span"));
    }
    let mut increase = 0u64;
    let mut peak = 0f64;
    for w in sorted.windows(2) {
        let d = if w[1].corrected >= w[0].corrected { w[1].corrected - w[0].corrected } else { w[1].corrected };
        increase = increase.saturating_add(d);
        let dt = w[1].time_seconds - w[0].time_seconds;
        if dt > 0.0 {
            peak = peak.max(d as f64 * 3600.0 / dt);
        }
    }
    let per_hour = increase as f64 * 3600.0 / span;
    Ok(EccRate { increase, per_hour, peak_per_hour: peak, alert: peak > threshold_per_hour })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: f64, c: u64) -> EccSample {
        EccSample { time_seconds: t, corrected: c }
    }

    #[test]
    fn climbing_rate_alerts_even_with_a_small_total() {
        // 10 per hour for two hours, then 120 in ten minutes.
        let r = corrected_error_rate(&[s(0.0, 0), s(3600.0, 10), s(7200.0, 20), s(7800.0, 140)], 100.0)
            .expect("valid samples");
        assert_eq!(r.increase, 140);
        assert!((r.peak_per_hour - 720.0).abs() < 1e-9);
        assert!(r.alert);
        let calm = corrected_error_rate(&[s(0.0, 5000), s(3600.0, 5001)], 100.0).expect("valid samples");
        assert!(!calm.alert);
    }

    #[test]
    fn reset_and_order() {
        let r = corrected_error_rate(&[s(7200.0, 4), s(0.0, 10), s(3600.0, 30)], 1000.0).expect("valid samples");
        assert_eq!(r.increase, 24);
        assert!(corrected_error_rate(&[s(1.0, 1), s(1.0, 2)], 1.0).is_err());
        assert!(corrected_error_rate(&[s(0.0, 1), s(1.0, 2)], -1.0).is_err());
    }
}
