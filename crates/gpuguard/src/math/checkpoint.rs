//! Checkpoint math: what an interruption costs, how often interruptions come, and how often to
//! checkpoint so that the two kinds of waste (writing checkpoints, redoing lost work) are least.
//!
//! Interruptions are modelled as a Poisson process with mean time between failures `M`. Young
//! (1974) gives the first-order optimum `τ = √(2·C·M)` for a checkpoint that takes `C` to write;
//! Daly (2006, "A higher order estimate of the optimum checkpoint interval for restart dumps")
//! refines it and gives the expected wall time of a run, which [`checkpoint_waste`] and
//! [`checkpoint_plan`] use. All intervals are seconds of work between checkpoints.

use crate::error::check_non_negative;
use crate::{Error, Result};
use serde::Serialize;
use std::str::FromStr;

/// Which optimum-interval formula to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointMethod {
    /// Young's first-order `√(2·C·M)`.
    Young,
    /// Daly's higher-order estimate (the default: it stays right when `C` is not ≪ `M`).
    #[default]
    Daly,
}

impl FromStr for CheckpointMethod {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "young" => Ok(CheckpointMethod::Young),
            "daly" => Ok(CheckpointMethod::Daly),
            _ => Err(Error::invalid("method", format!("expected \"young\" or \"daly\", got {s:?}"))),
        }
    }
}

/// Money lost to an interruption: the GPU hours since the last checkpoint, redone.
///
/// ```
/// // 70 hours on an 8×A100 node at $32/h.
/// assert_eq!(gpuguard::lost_work_cost(32.0, 70.0).unwrap(), 2240.0);
/// assert!(gpuguard::lost_work_cost(-1.0, 1.0).is_err());
/// ```
pub fn lost_work_cost(hourly_gpu_cost: f64, hours_since_last_checkpoint: f64) -> Result<f64> {
    let cost = check_non_negative("hourly_gpu_cost", hourly_gpu_cost, false)?;
    let hours = check_non_negative("hours_since_last_checkpoint", hours_since_last_checkpoint, false)?;
    Ok(cost * hours)
}

/// Mean time between interruptions of a job, in hours, from an interruption rate per period.
///
/// `interruption_rate` is the probability that one node is interrupted at least once in
/// `period_hours` (AWS Spot's "<5%" bucket is per month: `0.05` over `730` hours). With a Poisson
/// process that is `λ = −ln(1 − r) / P` per hour; a job on `nodes` nodes stops when any one of
/// them does, so its MTBF is `1 / (λ · nodes)`. A rate of 0 gives an infinite MTBF.
///
/// ```
/// let m = gpuguard::mtbf_hours(0.05, 730.0, 1).unwrap();
/// assert!((m - 14232.0).abs() < 1.0);
/// // 16 nodes are interrupted 16 times as often.
/// assert!((gpuguard::mtbf_hours(0.05, 730.0, 16).unwrap() - m / 16.0).abs() < 1e-9);
/// assert!(gpuguard::mtbf_hours(1.0, 730.0, 1).is_err());
/// ```
pub fn mtbf_hours(interruption_rate: f64, period_hours: f64, nodes: u32) -> Result<f64> {
    if !(interruption_rate.is_finite() && (0.0..1.0).contains(&interruption_rate)) {
        return Err(Error::invalid(
            "interruption_rate",
            format!("must be a probability in [0, 1), got {interruption_rate}"),
        ));
    }
    let period = check_non_negative("period_hours", period_hours, true)?;
    if nodes == 0 {
        return Err(Error::invalid("nodes", "must be at least 1"));
    }
    let per_hour = -(-interruption_rate).ln_1p() / period;
    Ok(1.0 / (per_hour * f64::from(nodes)))
}

/// The optimal seconds of work between checkpoints, for a checkpoint that takes
/// `checkpoint_seconds` to write and a job MTBF of `mtbf_hours`.
///
/// Daly's estimate is `√(2δM)·[1 + ⅓√(δ/2M) + ⅑(δ/2M)] − δ` for `δ < 2M`, and `M` beyond.
///
/// ```
/// use gpuguard::{CheckpointMethod::*, optimal_checkpoint_interval as opt};
/// // Daly's paper: δ = 5 min with M = 24 h gives τ ≈ 117 min, M = 6 h ≈ 57 min, M = 15 min ≈ 9.1 min.
/// assert_eq!((opt(300.0, 24.0, Daly).unwrap() / 60.0).round(), 117.0);
/// assert_eq!((opt(300.0, 6.0, Daly).unwrap() / 60.0).round(), 57.0);
/// assert!((opt(300.0, 0.25, Daly).unwrap() / 60.0 - 9.1).abs() < 0.05);
/// assert_eq!(opt(300.0, 24.0, Young).unwrap(), 7200.0);
/// ```
pub fn optimal_checkpoint_interval(checkpoint_seconds: f64, mtbf_hours: f64, method: CheckpointMethod) -> Result<f64> {
    let delta = check_non_negative("checkpoint_seconds", checkpoint_seconds, true)?;
    if mtbf_hours.is_nan() || mtbf_hours <= 0.0 {
        return Err(Error::invalid("mtbf_hours", format!("must be greater than 0, got {mtbf_hours}")));
    }
    if mtbf_hours.is_infinite() {
        return Ok(f64::INFINITY);
    }
    let m = mtbf_hours * 3600.0;
    let young = (2.0 * delta * m).sqrt();
    Ok(match method {
        CheckpointMethod::Young => young,
        CheckpointMethod::Daly if delta >= 2.0 * m => m,
        CheckpointMethod::Daly => {
            let x = delta / (2.0 * m);
            young * (1.0 + x.sqrt() / 3.0 + x / 9.0) - delta
        }
    })
}

/// Expected wall seconds to finish `work_seconds` of work, checkpointing every `interval_seconds`
/// (`δ` each), restarting in `restart_seconds` after each interruption (Daly's eq. for `T_w`).
fn expected_wall_seconds(work: f64, interval: f64, delta: f64, restart: f64, m: f64) -> f64 {
    if m.is_infinite() {
        return work + (work / interval).floor() * delta;
    }
    m * (restart / m).exp() * ((interval + delta) / m).exp_m1() * work / interval
}

/// The expected fraction of wall time wasted (writing checkpoints, redoing lost work,
/// restarting) when checkpointing every `interval_seconds` of work.
///
/// ```
/// use gpuguard::{checkpoint_waste, optimal_checkpoint_interval, CheckpointMethod};
/// let best = optimal_checkpoint_interval(300.0, 24.0, CheckpointMethod::Daly).unwrap();
/// let at_best = checkpoint_waste(best, 300.0, 24.0, 0.0).unwrap();
/// assert!(at_best < checkpoint_waste(best / 4.0, 300.0, 24.0, 0.0).unwrap());
/// assert!(at_best < checkpoint_waste(best * 4.0, 300.0, 24.0, 0.0).unwrap());
/// // First order: δ/τ + τ/2M ≈ 4.3% + 4.1%.
/// assert!(at_best > 0.08 && at_best < 0.085);
/// ```
pub fn checkpoint_waste(
    interval_seconds: f64,
    checkpoint_seconds: f64,
    mtbf_hours: f64,
    restart_seconds: f64,
) -> Result<f64> {
    let tau = check_non_negative("interval_seconds", interval_seconds, true)?;
    let delta = check_non_negative("checkpoint_seconds", checkpoint_seconds, false)?;
    let restart = check_non_negative("restart_seconds", restart_seconds, false)?;
    if mtbf_hours.is_nan() || mtbf_hours <= 0.0 {
        return Err(Error::invalid("mtbf_hours", format!("must be greater than 0, got {mtbf_hours}")));
    }
    let m = mtbf_hours * 3600.0;
    if m.is_infinite() {
        return Ok(delta / (tau + delta));
    }
    let wall_per_work = expected_wall_seconds(1.0, tau, delta, restart, m);
    Ok(if wall_per_work.is_finite() { 1.0 - 1.0 / wall_per_work } else { 1.0 })
}

/// A checkpoint plan for one training run, from [`checkpoint_plan`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointPlan {
    /// The job's mean time between interruptions.
    pub mtbf_hours: f64,
    /// Seconds of work between checkpoints (capped at the run length).
    pub interval_seconds: f64,
    /// How many checkpoints to keep: at least 3, so a corrupt latest one is not fatal.
    pub keep_last: u32,
    /// Checkpoints written over the run.
    pub checkpoints: f64,
    /// Interruptions expected while the run lasts.
    pub expected_interruptions: f64,
    /// Fraction of wall time wasted with the plan.
    pub waste_fraction: f64,
    /// Expected wall hours with the plan.
    pub expected_hours: f64,
    /// Expected cost with the plan.
    pub expected_cost: f64,
    /// Expected wall hours with no checkpoints (every interruption restarts from zero).
    pub expected_hours_without: f64,
    /// Expected cost with no checkpoints.
    pub expected_cost_without: f64,
    /// The method that chose the interval.
    pub method: CheckpointMethod,
}

/// One training run, as [`checkpoint_plan`] needs it described. Build it with the fields you know
/// and `..CheckpointJob::default()` for the rest (a month of 730 hours, one node, no restart
/// time, Daly's method).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckpointJob {
    /// What the whole job's GPUs cost per hour (any currency; e.g. 32 for one 8×A100 node).
    pub hourly_gpu_cost: f64,
    /// Hours of training work the run needs, excluding checkpoints and restarts (> 0).
    pub run_hours: f64,
    /// Seconds one checkpoint takes to write (> 0).
    pub checkpoint_seconds: f64,
    /// Probability in `[0, 1)` that one node is interrupted at least once per `period_hours`.
    pub interruption_rate: f64,
    /// The period `interruption_rate` is given for, in hours (AWS Spot's buckets: a month, 730).
    pub period_hours: f64,
    /// Nodes in the job; any one of them interrupted stops it (≥ 1).
    pub nodes: u32,
    /// Seconds to restart and reload after an interruption (≥ 0).
    pub restart_seconds: f64,
    /// The formula that chooses the interval.
    pub method: CheckpointMethod,
}

impl Default for CheckpointJob {
    /// No cost, no run (fill those in), 730-hour period, one node, instant restarts, Daly.
    fn default() -> Self {
        CheckpointJob {
            hourly_gpu_cost: 0.0,
            run_hours: 0.0,
            checkpoint_seconds: 0.0,
            interruption_rate: 0.0,
            period_hours: 730.0,
            nodes: 1,
            restart_seconds: 0.0,
            method: CheckpointMethod::Daly,
        }
    }
}

/// Plans checkpoints for a [`CheckpointJob`]: `run_hours` of work on GPUs costing
/// `hourly_gpu_cost` per hour, where a checkpoint takes `checkpoint_seconds` to write and each
/// node is interrupted with probability `interruption_rate` per `period_hours` (see
/// [`mtbf_hours`]).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the field that is out of its domain.
///
/// ```
/// use gpuguard::{checkpoint_plan, CheckpointJob};
/// // 2 weeks on 16 spot nodes at $32/h each (8×A100), 20% interruptions a month per node,
/// // 3-minute checkpoints, 10 minutes to restart.
/// let plan = checkpoint_plan(&CheckpointJob {
///     hourly_gpu_cost: 16.0 * 32.0,
///     run_hours: 336.0,
///     checkpoint_seconds: 180.0,
///     interruption_rate: 0.2,
///     nodes: 16,
///     restart_seconds: 600.0,
///     ..CheckpointJob::default()
/// })
/// .unwrap();
/// assert_eq!(plan.keep_last, 3);
/// assert!((plan.mtbf_hours - 204.5).abs() < 0.5);
/// assert!(plan.interval_seconds > 3.0 * 3600.0 && plan.interval_seconds < 6.0 * 3600.0);
/// assert!(plan.expected_cost < plan.expected_cost_without);
/// ```
pub fn checkpoint_plan(job: &CheckpointJob) -> Result<CheckpointPlan> {
    let CheckpointJob {
        hourly_gpu_cost,
        run_hours,
        checkpoint_seconds,
        interruption_rate,
        period_hours,
        nodes,
        restart_seconds,
        method,
    } = *job;
    let cost = check_non_negative("hourly_gpu_cost", hourly_gpu_cost, false)?;
    let run = check_non_negative("run_hours", run_hours, true)?;
    let restart = check_non_negative("restart_seconds", restart_seconds, false)?;
    let mtbf = mtbf_hours(interruption_rate, period_hours, nodes)?;
    let delta = check_non_negative("checkpoint_seconds", checkpoint_seconds, true)?;
    let work = run * 3600.0;
    let interval = optimal_checkpoint_interval(delta, mtbf, method)?.min(work);
    let m = mtbf * 3600.0;
    let wall = expected_wall_seconds(work, interval, delta, restart, m);
    let wall_without = if m.is_infinite() { work } else { m * (restart / m).exp() * (work / m).exp_m1() };
    let hours = wall / 3600.0;
    let hours_without = wall_without / 3600.0;
    Ok(CheckpointPlan {
        mtbf_hours: mtbf,
        interval_seconds: interval,
        keep_last: 3,
        checkpoints: (work / interval).floor(),
        expected_interruptions: if m.is_infinite() { 0.0 } else { wall / m },
        waste_fraction: 1.0 - work / wall,
        expected_hours: hours,
        expected_cost: cost * hours,
        expected_hours_without: hours_without,
        expected_cost_without: cost * hours_without,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_bad_arguments_by_name() {
        for (e, name) in [
            (optimal_checkpoint_interval(f64::NAN, 1.0, CheckpointMethod::Daly), "checkpoint_seconds"),
            (optimal_checkpoint_interval(1.0, -1.0, CheckpointMethod::Daly), "mtbf_hours"),
            (mtbf_hours(0.1, 0.0, 1), "period_hours"),
            (mtbf_hours(0.1, 1.0, 0), "nodes"),
            (lost_work_cost(1.0, f64::INFINITY), "hours_since_last_checkpoint"),
        ] {
            assert!(e.unwrap_err().to_string().contains(name), "{name}");
        }
        assert!("DALY".parse::<CheckpointMethod>().is_ok());
        assert!("weibull".parse::<CheckpointMethod>().unwrap_err().to_string().contains("method"));
    }

    #[test]
    fn no_interruptions() {
        let job =
            CheckpointJob { hourly_gpu_cost: 10.0, run_hours: 5.0, checkpoint_seconds: 60.0, ..Default::default() };
        let plan = checkpoint_plan(&job).unwrap();
        assert_eq!(plan.interval_seconds, 5.0 * 3600.0);
        assert_eq!(plan.expected_interruptions, 0.0);
        assert_eq!(plan.expected_cost_without, 50.0);
    }

    proptest! {
        #[test]
        fn young_and_daly_agree_when_c_is_small(c in 1.0f64..60.0, m in 100.0f64..10_000.0) {
            let y = optimal_checkpoint_interval(c, m, CheckpointMethod::Young).unwrap();
            let d = optimal_checkpoint_interval(c, m, CheckpointMethod::Daly).unwrap();
            prop_assert!((y - d).abs() / y < 0.02, "young {} daly {}", y, d);
        }

        #[test]
        fn interval_grows_with_cost_and_mtbf(c in 1.0f64..3600.0, m in 0.1f64..1e5) {
            let d = |c, m| optimal_checkpoint_interval(c, m, CheckpointMethod::Daly).unwrap();
            prop_assert!(d(c * 1.5, m) >= d(c, m));
            prop_assert!(d(c, m * 1.5) >= d(c, m));
        }

        #[test]
        fn mtbf_falls_with_rate_and_nodes(r in 0.001f64..0.9, n in 1u32..1000) {
            let m = mtbf_hours(r, 730.0, n).unwrap();
            prop_assert!(mtbf_hours((r * 1.05).min(0.99), 730.0, n).unwrap() <= m);
            prop_assert!(mtbf_hours(r, 730.0, n + 1).unwrap() < m);
        }

        #[test]
        fn daly_is_near_the_waste_minimum(c in 10.0f64..1800.0, m in 1.0f64..1000.0) {
            let best = optimal_checkpoint_interval(c, m, CheckpointMethod::Daly).unwrap();
            let w = |t| checkpoint_waste(t, c, m, 0.0).unwrap();
            prop_assert!(w(best) <= w(best * 0.7) + 1e-12);
            prop_assert!(w(best) <= w(best * 1.4) + 1e-12);
            prop_assert!((0.0..1.0).contains(&w(best)));
        }

        #[test]
        fn plan_never_panics(cost in 0.0f64..1e4, run in 0.01f64..1e5, c in 0.1f64..1e5,
                             r in 0.0f64..0.999, p in 0.01f64..1e4, n in 1u32..10_000) {
            let job = CheckpointJob { hourly_gpu_cost: cost, run_hours: run, checkpoint_seconds: c, interruption_rate: r, period_hours: p, nodes: n, ..Default::default() };
            let plan = checkpoint_plan(&job).unwrap();
            prop_assert!(plan.interval_seconds > 0.0 && plan.interval_seconds <= run * 3600.0);
            prop_assert!(plan.expected_hours >= run * (1.0 - 1e-12));
            // 1.0 when interruptions come so fast the run never finishes (infinite expected time).
            prop_assert!((0.0..=1.0).contains(&plan.waste_fraction), "waste {}", plan.waste_fraction);
        }
    }
}
