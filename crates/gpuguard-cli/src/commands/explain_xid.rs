//! `gpuguard explain xid N`: what an XID code means and what to do, as text or Markdown.

use gpuguard::xid::{XidInfo, xid_word_rules};
use std::fmt::Write;

fn status(x: &XidInfo) -> String {
    match (x.known, x.legacy) {
        (false, _) if x.mnemonic.is_empty() => " (not in NVIDIA's catalog)".to_string(),
        (false, _) => format!(" ({}, listed as unused by NVIDIA)", x.mnemonic),
        (true, true) => {
            format!(" ({}; unused on Ampere and newer, described from NVIDIA's older Xid page)", x.mnemonic)
        }
        (true, false) => format!(" ({})", x.mnemonic),
    }
}

/// One code in full.
pub fn one(x: &XidInfo, markdown: bool) -> String {
    let mut fields =
        vec![("category", x.category.as_str()), ("severity", x.severity.as_str()), ("action", x.action.as_str())];
    fields.extend(x.nvidia_action.map(|a| ("NVIDIA's immediate action", a)));
    let (head, bullet, indent, todo) =
        if markdown { ("## ", "- ", "", "**What to do:**") } else { ("", "  ", "  ", "What to do:") };
    let mut out = format!("{head}XID {}: {}{}\n", x.code, x.name, status(x));
    if markdown {
        out.push('\n');
    }
    for (label, value) in fields {
        out.push_str(&format!("{bullet}{label}: {value}\n"));
    }
    out.push_str(&format!("\n{indent}{}\n", x.meaning));
    let rules = xid_word_rules(x.code);
    if !rules.is_empty() {
        out.push_str(&format!(
            "\n{indent}Words in the message that change the verdict (each event is judged on its own):\n"
        ));
        for r in rules {
            let (sev, act) = (r.severity.as_str(), r.action.as_str());
            out.push_str(&format!("{indent}{bullet}{}: severity {sev}, action {act}: {}\n", r.words, r.meaning));
        }
    }
    out.push_str(&format!("\n{indent}{todo} {}\n", x.action.advice()));
    out
}

/// One code as JSON: the catalog entry plus `verdict_words`, the words that change its verdict.
pub fn json(x: &XidInfo) -> serde_json::Value {
    let mut v = serde_json::to_value(x).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("verdict_words".into(), serde_json::to_value(xid_word_rules(x.code)).unwrap_or_default());
    }
    v
}

/// Every code in `infos`, one line (or table row) each.
pub fn table(infos: &[XidInfo], markdown: bool) -> String {
    let mut t = String::new();
    if markdown {
        t.push_str("| XID | severity | category | action | name |\n|---|---|---|---|---|\n");
    }
    for x in infos {
        let (sev, cat, act) = (x.severity.as_str(), x.category.as_str(), x.action.as_str());
        let _ = if markdown {
            writeln!(t, "| {} | {sev} | {cat} | {act} | {} |", x.code, x.name.replace('|', "\\|"))
        } else {
            writeln!(t, "{:>4}  {sev:<8} {cat:<14} {act:<18} {}", x.code, x.name)
        };
    }
    t
}
