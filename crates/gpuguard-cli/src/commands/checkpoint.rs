//! `gpuguard checkpoint`: the optimal checkpoint interval for a run, and what interruptions cost.

use crate::output::{
    FailOn, Format, OutputArgs, ReportFormat, count, exit_code, findings_after, flag_error, key_values, print,
    print_json,
};
use clap::Args;
use gpuguard::{CheckpointJob, CheckpointMethod, CheckpointPlan, Finding, Report, Severity};

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Cost of the whole job's GPUs per hour (e.g. 32 for one 8×A100 node on demand).
    #[arg(long)]
    hourly_cost: f64,
    /// Hours of training work the run needs.
    #[arg(long)]
    run_hours: f64,
    /// Seconds one checkpoint takes to write.
    #[arg(long)]
    checkpoint_seconds: f64,
    /// Probability that one node is interrupted at least once per period (0.05 for "<5%").
    #[arg(long)]
    interruption_rate: f64,
    /// The period the rate is given for, in hours (AWS Spot's buckets are per month: 730).
    #[arg(long, default_value_t = 730.0)]
    period_hours: f64,
    /// Nodes in the job (any one interrupted stops it).
    #[arg(long, default_value_t = 1, value_parser = count::<u32>)]
    nodes: u32,
    /// Seconds to restart and reload after an interruption.
    #[arg(long, default_value_t = 0.0)]
    restart_seconds: f64,
    /// `daly` (default) or `young`.
    #[arg(long, default_value = "daly")]
    method: CheckpointMethod,
    /// Your current checkpoint interval in seconds, to compare with the optimum (a GG003 warning
    /// when it wastes at least one percentage point of wall time more).
    #[arg(long)]
    current_interval_seconds: Option<f64>,
    #[command(flatten)]
    output: OutputArgs<ReportFormat>,
}

/// The core's argument names (`gpuguard::checkpoint_plan`, `checkpoint_waste`) as this command's
/// flags, for its error messages.
const FLAGS: &[(&str, &str)] = &[
    ("hourly_gpu_cost", "--hourly-cost"),
    ("run_hours", "--run-hours"),
    ("checkpoint_seconds", "--checkpoint-seconds"),
    ("interruption_rate", "--interruption-rate"),
    ("period_hours", "--period-hours"),
    ("nodes", "--nodes"),
    ("restart_seconds", "--restart-seconds"),
    ("method", "--method"),
    ("interval_seconds", "--current-interval-seconds"),
];

/// Whole dollars with thousands separators, as people read money: `$1,933,787`.
fn dollars(amount: f64) -> String {
    if !amount.is_finite() {
        return format!("${amount}");
    }
    let digits = format!("{:.0}", amount.abs());
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(d);
    }
    let sign = if amount < 0.0 && digits != "0" { "-" } else { "" };
    format!("{sign}${grouped}")
}

/// Extra waste, in fractions of wall time, above which the current interval is worth changing.
const WORTH_CHANGING: f64 = 0.01;

fn current_finding(plan: &CheckpointPlan, current_seconds: f64, current_waste: f64) -> Option<Finding> {
    let extra = current_waste - plan.waste_fraction;
    // Wall time is work / (1 - waste), so the current interval costs this much more than the plan.
    let extra_cost = plan.expected_cost * extra / (1.0 - current_waste);
    let costs =
        if extra_cost.is_finite() { format!(" ({} more over the run)", dollars(extra_cost)) } else { String::new() };
    (extra >= WORTH_CHANGING).then(|| {
        Finding::new(
            "GG003",
            Severity::Warning,
            format!(
                "checkpointing every {current_seconds:.0} s wastes {:.1}% of wall time; every {:.0} s wastes {:.1}%{costs}",
                current_waste * 100.0,
                plan.interval_seconds,
                plan.waste_fraction * 100.0,
            ),
            format!("checkpoint every {:.0} s of work, keeping the last {}", plan.interval_seconds, plan.keep_last),
        )
        .with_evidence("current_interval_seconds", current_seconds)
        .with_evidence("current_waste_fraction", current_waste)
        .with_evidence("interval_seconds", plan.interval_seconds)
        .with_evidence("waste_fraction", plan.waste_fraction)
    })
}

/// The plan as labelled values, the same for text and Markdown.
fn rows(plan: &CheckpointPlan, run_hours: f64, current_waste: Option<f64>) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("job MTBF", format!("{:.1} h", plan.mtbf_hours)),
        (
            "checkpoint every",
            format!(
                "{:.0} s ({:.1} min) of work ({:?})",
                plan.interval_seconds,
                plan.interval_seconds / 60.0,
                plan.method
            ),
        ),
        ("keep the last", plan.keep_last.to_string()),
        (
            "expected",
            format!(
                "{:.1} h, {} ({:.1}% wasted, {:.2} interruptions)",
                plan.expected_hours,
                dollars(plan.expected_cost),
                plan.waste_fraction * 100.0,
                plan.expected_interruptions
            ),
        ),
        (
            "without checkpoints",
            without_checkpoints(plan.expected_hours_without, plan.expected_cost_without, run_hours),
        ),
    ];
    if let Some(w) = current_waste {
        rows.push(("your interval wastes", format!("{:.1}% of wall time", w * 100.0)));
    }
    rows
}

/// The expected wall time without checkpoints grows as e^(run/MTBF): past a thousand times the
/// run itself, the figure says only that the job never finishes, not a 40-digit number.
fn without_checkpoints(hours: f64, cost: f64, run_hours: f64) -> String {
    if hours.is_finite() && hours <= 1000.0 * run_hours {
        format!("{hours:.1} h, {}", dollars(cost))
    } else if hours.is_finite() {
        format!("never finishes in practice (expected {hours:.1e} h, over 1,000x the {run_hours} h of work)")
    } else {
        "never finishes (every run is interrupted before it ends)".to_owned()
    }
}

pub fn run(a: CheckpointArgs) -> std::io::Result<i32> {
    let job = CheckpointJob {
        hourly_gpu_cost: a.hourly_cost,
        run_hours: a.run_hours,
        checkpoint_seconds: a.checkpoint_seconds,
        interruption_rate: a.interruption_rate,
        period_hours: a.period_hours,
        nodes: a.nodes,
        restart_seconds: a.restart_seconds,
        method: a.method,
    };
    let plan = match gpuguard::checkpoint_plan(&job) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gpuguard checkpoint: {}", flag_error(&e, FLAGS));
            return Ok(crate::EXIT_ERROR);
        }
    };
    let current_waste = match a
        .current_interval_seconds
        .map(|t| gpuguard::checkpoint_waste(t, a.checkpoint_seconds, plan.mtbf_hours, a.restart_seconds))
        .transpose()
    {
        Ok(w) => w,
        Err(e) => {
            eprintln!("gpuguard checkpoint: {}", flag_error(&e, FLAGS));
            return Ok(crate::EXIT_ERROR);
        }
    };
    let mut report = Report::new("checkpoint");
    if let (Some(t), Some(w)) = (a.current_interval_seconds, current_waste) {
        report.findings.extend(current_finding(&plan, t, w));
    }
    match a.output.format() {
        Format::Json => print_json(&serde_json::json!({
            "schema": gpuguard::SCHEMA_VERSION,
            "command": "checkpoint",
            "job": job,
            "plan": plan,
            "current_waste_fraction": current_waste,
            "findings": report.findings,
            "errors": [],
            "summary": {"interval_seconds": plan.interval_seconds, "keep_last": plan.keep_last},
        }))?,
        format => {
            let markdown = format == Format::Markdown;
            let title = if markdown { "## gpuguard checkpoint\n\n" } else { "" };
            let body = key_values(&rows(&plan, job.run_hours, current_waste), markdown);
            print(&format!("{title}{body}{}", findings_after(&report, markdown)))?;
        }
    }
    Ok(exit_code(&report, a.output.fail_on_or(FailOn::Error)))
}

#[cfg(test)]
mod tests {
    use super::dollars;

    #[test]
    fn dollars_have_thousands_separators() {
        assert_eq!(dollars(1_933_787.4), "$1,933,787");
        assert_eq!(dollars(999.5), "$1,000");
        assert_eq!(dollars(999.0), "$999");
        assert_eq!(dollars(0.0), "$0");
        assert_eq!(dollars(-0.2), "$0");
        assert_eq!(dollars(-12_345.0), "-$12,345");
        assert_eq!(dollars(1e15), "$1,000,000,000,000,000");
    }
}
