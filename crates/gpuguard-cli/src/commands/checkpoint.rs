use crate::output::print;
use clap::Args;
use gpuguard::CheckpointMethod;

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
    #[arg(long, default_value_t = 1)]
    nodes: u32,
    /// Seconds to restart and reload after an interruption.
    #[arg(long, default_value_t = 0.0)]
    restart_seconds: f64,
    /// `daly` (default) or `young`.
    #[arg(long, default_value = "daly")]
    method: CheckpointMethod,
    /// Your current checkpoint interval in seconds, to compare with the optimum.
    #[arg(long)]
    current_interval_seconds: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: CheckpointArgs) -> std::io::Result<i32> {
    let plan = gpuguard::checkpoint_plan(
        a.hourly_cost,
        a.run_hours,
        a.checkpoint_seconds,
        a.interruption_rate,
        a.period_hours,
        a.nodes,
        a.restart_seconds,
        a.method,
    );
    let current = a.current_interval_seconds.map(|t| {
        plan.as_ref().ok().map(|p| gpuguard::checkpoint_waste(t, a.checkpoint_seconds, p.mtbf_hours, a.restart_seconds))
    });
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gpuguard checkpoint: {e}");
            return Ok(crate::EXIT_ERROR);
        }
    };
    let current_waste = match current.flatten() {
        Some(Err(e)) => {
            eprintln!("gpuguard checkpoint: {e}");
            return Ok(crate::EXIT_ERROR);
        }
        Some(Ok(w)) => Some(w),
        None => None,
    };
    if a.json {
        print(
            &serde_json::to_string_pretty(&serde_json::json!({
                "schema": gpuguard::report::SCHEMA_VERSION,
                "plan": plan,
                "current_waste_fraction": current_waste,
                "errors": [],
                "summary": {"interval_seconds": plan.interval_seconds, "keep_last": plan.keep_last},
            }))
            .unwrap_or_default(),
        )?;
        return Ok(crate::EXIT_OK);
    }
    let mut text = format!(
        "job MTBF: {:.1} h\ncheckpoint every: {:.0} s ({:.1} min) of work ({:?})\nkeep the last: {}\n\
         expected: {:.1} h, ${:.0} ({:.1}% wasted, {:.2} interruptions)\n\
         without checkpoints: {:.1} h, ${:.0}\n",
        plan.mtbf_hours,
        plan.interval_seconds,
        plan.interval_seconds / 60.0,
        plan.method,
        plan.keep_last,
        plan.expected_hours,
        plan.expected_cost,
        plan.waste_fraction * 100.0,
        plan.expected_interruptions,
        plan.expected_hours_without,
        plan.expected_cost_without,
    );
    if let Some(w) = current_waste {
        text.push_str(&format!("your interval wastes {:.1}% of wall time\n", w * 100.0));
    }
    print(&text)?;
    Ok(crate::EXIT_OK)
}
