use crate::output::print;
use clap::Args;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule id (`GG001`) or slug (`dev-shm`), or `xid N` for an NVIDIA XID code (`xid` alone
    /// lists every documented code).
    #[arg(value_name = "RULE | xid N")]
    topic: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The full text of one footgun, wrapped for a terminal.
pub fn footgun_text(f: &gpuguard::Footgun) -> String {
    format!(
        "{} {}: {}\n(default severity: {}; caught by: {})\n\nWhat goes wrong\n  {}\n\nWhy\n  {}\n\nFix\n  {}\n\nExample\n{}\n",
        f.id,
        f.slug,
        f.title,
        f.default_severity,
        f.caught_by.join(", "),
        wrap(f.what),
        wrap(f.why),
        wrap(f.fix),
        f.example.lines().map(|l| format!("  {l}\n")).collect::<String>().trim_end(),
    )
}

/// Collapses the source's line-continuation spacing and wraps at 96 columns.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for word in text.split_whitespace() {
        if width > 0 && width + 1 + word.len() > 96 {
            out.push_str("\n  ");
            width = 0;
        } else if width > 0 {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.len();
    }
    out
}

pub fn run(args: ExplainArgs) -> std::io::Result<i32> {
    if args.topic.first().is_some_and(|t| t.eq_ignore_ascii_case("xid")) {
        return super::explain_xid::run(&args.topic[1..], args.json);
    }
    let key = args.topic.join(" ");
    let Some(f) = gpuguard::footgun(&key) else {
        eprintln!("gpuguard explain: unknown rule {key:?}; expected GG001-GG010 or a slug (see `gpuguard footguns`)");
        return Ok(crate::EXIT_ERROR);
    };
    if args.json {
        print(&serde_json::to_string_pretty(f).unwrap_or_default())?;
    } else {
        print(&footgun_text(f))?;
    }
    Ok(crate::EXIT_OK)
}
