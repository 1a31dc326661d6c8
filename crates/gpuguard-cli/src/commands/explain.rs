//! `gpuguard explain [RULE | xid N]...`: the full text of footguns and XID codes; with no topic,
//! the list of both.

use crate::output::{Format, FormatArgs, ReportFormat, print, print_json};
use clap::Args;
use gpuguard::Footgun;
use gpuguard::xid::{XidInfo, classify_xid};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule ids (`GG001`, `1`) or slugs (`dev-shm`), and `xid N...` for NVIDIA XID codes
    /// (`explain GG001 GG007 xid 48 79`). With none, lists every rule; `xid` alone lists every
    /// documented XID code.
    #[arg(value_name = "RULE | xid N")]
    topic: Vec<String>,
    #[command(flatten)]
    output: FormatArgs<ReportFormat>,
}

/// The full text of one footgun, wrapped for a terminal.
pub fn footgun_text(f: &Footgun) -> String {
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

/// One footgun as a Markdown section.
fn footgun_markdown(f: &Footgun) -> String {
    format!(
        "## {} {}: {}\n\nDefault severity: {}; caught by: {}.\n\n### What goes wrong\n\n{}\n\n### Why\n\n{}\n\n### Fix\n\n{}\n\n### Example\n\n```yaml\n{}\n```\n",
        f.id,
        f.slug,
        f.title,
        f.default_severity,
        f.caught_by.join(", "),
        f.what.split_whitespace().collect::<Vec<_>>().join(" "),
        f.why.split_whitespace().collect::<Vec<_>>().join(" "),
        f.fix.split_whitespace().collect::<Vec<_>>().join(" "),
        f.example.trim_end(),
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

/// What the topics name, in order, and the ones that name nothing (with why).
#[derive(Default)]
struct Topics {
    footguns: Vec<&'static Footgun>,
    xids: Vec<XidInfo>,
    /// `xid` with no code after it: list every documented code.
    all_xids: bool,
    unknown: Vec<String>,
}

fn resolve(topics: &[String]) -> Topics {
    let mut t = Topics::default();
    let mut in_xid = false;
    let mut xid_codes = 0;
    for (i, word) in topics.iter().enumerate() {
        let word = word.trim();
        if word.eq_ignore_ascii_case("xid") {
            in_xid = true;
            xid_codes = 0;
            // `xid` last, or followed by another rule, lists every code; `xid abc` is an error.
            t.all_xids |= topics.get(i + 1).is_none_or(|n| gpuguard::footgun(n.trim()).is_some());
            continue;
        }
        if in_xid && let Ok(code) = word.parse::<u32>() {
            t.xids.push(classify_xid(code));
            xid_codes += 1;
            continue;
        }
        if in_xid && xid_codes == 0 && gpuguard::footgun(word).is_none() {
            t.unknown.push(format!("expected an XID number such as 48 after `xid`, got {word:?}"));
            continue;
        }
        in_xid = false;
        match gpuguard::footgun(word) {
            Some(f) => t.footguns.push(f),
            None => t.unknown.push(format!(
                "unknown rule {word:?}; expected GG001-GG010 or a slug (see `gpuguard footguns`), or `xid N`"
            )),
        }
    }
    t
}

pub fn run(args: ExplainArgs) -> std::io::Result<i32> {
    if args.topic.is_empty() {
        // Nothing named: the list of rules, as `gpuguard footguns` prints it.
        return super::footguns::print_catalog(args.output.format());
    }
    let t = resolve(&args.topic);
    for why in &t.unknown {
        eprintln!("gpuguard explain: {why}");
    }
    let code = if t.unknown.is_empty() { crate::EXIT_OK } else { crate::EXIT_ERROR };
    if t.footguns.is_empty() && t.xids.is_empty() && !t.all_xids {
        return Ok(code);
    }
    let all = if t.all_xids { gpuguard::xid::known_xids().to_vec() } else { Vec::new() };
    let format = args.output.format();
    match format {
        Format::Json => print_json(&serde_json::json!({
            "schema": gpuguard::SCHEMA_VERSION,
            "command": "explain",
            "footguns": t.footguns,
            "xids": t.xids.iter().chain(&all).map(super::explain_xid::json).collect::<Vec<_>>(),
            "errors": t.unknown.iter().map(|m| serde_json::json!({"file": "<args>", "line": null, "message": m})).collect::<Vec<_>>(),
            "summary": {"footguns": t.footguns.len(), "xids": t.xids.len() + all.len()},
        }))?,
        _ => {
            let markdown = format == Format::Markdown;
            let mut parts: Vec<String> =
                t.footguns.iter().map(|f| if markdown { footgun_markdown(f) } else { footgun_text(f) }).collect();
            parts.extend(t.xids.iter().map(|x| super::explain_xid::one(x, markdown)));
            if t.all_xids {
                parts.push(super::explain_xid::table(&all, markdown));
            }
            print(&parts.join(if markdown { "\n" } else { "\n----\n\n" }))?;
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn several_rules_and_codes() {
        let t = resolve(&words("GG001 gpu-node-taint 7 xid 48 79 GG005"));
        assert_eq!(t.footguns.iter().map(|f| f.id).collect::<Vec<_>>(), ["GG001", "GG002", "GG007", "GG005"]);
        assert_eq!(t.xids.iter().map(|x| x.code).collect::<Vec<_>>(), [48, 79]);
        assert!(!t.all_xids && t.unknown.is_empty());
    }

    #[test]
    fn xid_alone_lists_and_bad_words_are_named() {
        assert!(resolve(&words("xid")).all_xids);
        let t = resolve(&words("GG042 xid nope"));
        assert_eq!(t.unknown.len(), 2);
        assert!(t.unknown[0].contains("GG042") && t.unknown[1].contains("nope"), "{:?}", t.unknown);
    }
}
