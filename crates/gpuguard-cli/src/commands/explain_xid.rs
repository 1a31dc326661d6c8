//! `gpuguard explain xid N`: what an XID code means and what to do.

use crate::output::print;
use gpuguard::xid::{XidInfo, classify_xid, known_xids, xid_word_rules};

fn xid_text(x: &XidInfo) -> String {
    let status = match (x.known, x.legacy) {
        (false, _) if x.mnemonic.is_empty() => " (not in NVIDIA's catalog)".to_string(),
        (false, _) => format!(" ({}, listed as unused by NVIDIA)", x.mnemonic),
        (true, true) => {
            format!(" ({}; unused on Ampere and newer, described from NVIDIA's older Xid page)", x.mnemonic)
        }
        (true, false) => format!(" ({})", x.mnemonic),
    };
    let nvidia = x.nvidia_action.map(|a| format!("  NVIDIA's immediate action: {a}\n")).unwrap_or_default();
    let rules = xid_word_rules(x.code);
    let mut words = String::new();
    if !rules.is_empty() {
        words.push_str("\n  Words in the message that change the verdict (each event is judged on its own):\n");
        for r in rules {
            words.push_str(&format!(
                "    {:<24} severity {:<8} action {:<18} {}\n",
                r.words,
                r.severity.as_str(),
                r.action.as_str(),
                r.meaning
            ));
        }
    }
    format!(
        "XID {}: {}{}\n  category: {}\n  severity: {}\n  action:   {}\n{}\n  {}\n{words}\n  What to do: {}\n",
        x.code,
        x.name,
        status,
        x.category.as_str(),
        x.severity,
        x.action.as_str(),
        nvidia,
        x.meaning,
        x.action.advice(),
    )
}

pub fn run(rest: &[String], json: bool) -> std::io::Result<i32> {
    let infos: Vec<XidInfo> = match rest {
        [] => known_xids().to_vec(),
        [code] => match code.trim().parse::<u32>() {
            Ok(c) => vec![classify_xid(c)],
            Err(_) => {
                eprintln!("gpuguard explain xid: expected an XID number such as 48, got {code:?}");
                return Ok(crate::EXIT_ERROR);
            }
        },
        _ => {
            eprintln!("gpuguard explain xid: expected one XID number, got {}", rest.join(" "));
            return Ok(crate::EXIT_ERROR);
        }
    };
    if json {
        let with_words = |x: &XidInfo| {
            let mut v = serde_json::to_value(x).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("verdict_words".into(), serde_json::to_value(xid_word_rules(x.code)).unwrap_or_default());
            }
            v
        };
        let v = if rest.is_empty() {
            Ok(serde_json::Value::Array(infos.iter().map(with_words).collect()))
        } else {
            Ok::<_, serde_json::Error>(with_words(&infos[0]))
        };
        print(&serde_json::to_string_pretty(&v.unwrap_or_default()).unwrap_or_default())?;
    } else if rest.is_empty() {
        let mut t = String::new();
        for x in &infos {
            t.push_str(&format!(
                "{:>4}  {:<8} {:<14} {:<18} {}\n",
                x.code,
                x.severity.as_str(),
                x.category.as_str(),
                x.action.as_str(),
                x.name
            ));
        }
        print(&t)?;
    } else {
        print(&xid_text(&infos[0]))?;
    }
    Ok(crate::EXIT_OK)
}
