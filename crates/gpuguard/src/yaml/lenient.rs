//! What to do when yaml-rust2 refuses a document that Kubernetes accepts.
//!
//! kubectl reads YAML with go-yaml, a port of libyaml, and libyaml does not judge indentation
//! inside a flow collection. yaml-rust2 does: vLLM's own Kubernetes guide writes
//!
//! ```yaml
//!         args: [
//!           "vllm serve meta-llama/Llama-3.2-1B-Instruct"
//!         ]
//! ```
//!
//! and yaml-rust2 calls the closing `]` (at its key's column) "invalid indentation", though
//! `kubectl apply` takes it. A linter that rejects what the cluster runs is wrong, so such a
//! document is read as libyaml reads it (through serde_yaml, which wraps libyaml), and its lines
//! are kept where that can be done exactly: indenting a line inside a flow collection never
//! changes its content (flow scalars fold leading spaces away), so the refused lines are indented
//! and yaml-rust2 tries again; its reading is used only when it equals libyaml's. Otherwise
//! libyaml's value is used with every finding on the document's first line. A document libyaml
//! refuses too keeps yaml-rust2's error.

use super::{Lines, SKIPPED_KEY, parse_yaml};
use serde_json::Value;

/// Lines re-indented at most: each retry parses the document again, so the work stays a small
/// multiple of the document's size.
const MAX_RETRIES: usize = 16;

/// Deeper than any block indentation of a real manifest, so an indented line is inside its
/// flow collection whatever the column of its key.
const INDENT: &str = "                                                                ";

/// The document as libyaml reads it, or `None` when libyaml refuses it too. `error_line` is the
/// absolute line yaml-rust2 refused; `first_line` that of the text's first line.
pub(super) fn parse(text: &str, first_line: usize, error_line: usize) -> Option<(Value, Lines)> {
    let mut reference: Value = serde_yaml::from_str(text).ok()?;
    strip_skipped(&mut reference);
    let mut fixed: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let mut line = error_line;
    for _ in 0..MAX_RETRIES {
        let Some(refused) = line.checked_sub(first_line).and_then(|i| fixed.get_mut(i)) else { break };
        refused.insert_str(0, INDENT);
        match parse_yaml(&fixed.join("\n"), first_line) {
            Ok((value, lines)) if value == reference => return Some((value, lines)),
            Ok(_) => break,
            Err((next, message)) if message.contains("indentation") => line = next,
            Err(_) => break,
        }
    }
    let line = first_line + text.lines().position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    Some((reference, Lines { line, children: Box::default() }))
}

/// Removes every [`SKIPPED_KEY`], as the builder does.
fn strip_skipped(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.shift_remove(SKIPPED_KEY);
            m.values_mut().for_each(strip_skipped);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_skipped),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::parse_value;

    #[test]
    fn a_flow_sequence_closed_at_its_keys_column_is_read_with_exact_lines() {
        let text = "spec:\n  containers:\n  - name: vllm\n    args: [\n      \"vllm serve org/model\",\n    \"--x\"\n    ]\n    image: vllm/vllm-openai\n";
        let (v, l) = parse_value(text, "f", 5).unwrap();
        assert_eq!(v["spec"]["containers"][0]["args"][0], "vllm serve org/model");
        assert_eq!(v["spec"]["containers"][0]["args"][1], "--x");
        assert_eq!(l.line_of(&v, "spec.containers[0].image"), 12);
        assert_eq!(l.line_of(&v, "spec.containers[0].args[1]"), 10);
    }

    #[test]
    fn what_libyaml_refuses_keeps_the_yaml_rust2_error() {
        let e = parse_value("a:\n  b: 1\n c: 2\n", "f.yaml", 1).unwrap_err();
        assert!(e.to_string().starts_with("f.yaml:"), "{e}");
    }
}
