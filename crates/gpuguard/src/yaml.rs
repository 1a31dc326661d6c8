//! The one module that touches `serde_yaml`: it splits a multi-document YAML (or JSON) stream into
//! documents that know their first line, and turns each into a plain [`serde_json::Value`] so the
//! rest of the crate never depends on the YAML library.

use crate::{Error, Result};
use serde_json::{Map, Value};

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 0-based index of the document in its stream (empty documents count, as in `kubectl`).
    pub index: usize,
    /// 1-based line of the document's first content line (not `---`, blank or comment lines).
    pub line: usize,
    /// The parsed content; `Value::Null` for an empty document.
    pub value: Value,
}

/// A document's raw text and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDocument<'a> {
    /// 0-based index in the stream.
    pub index: usize,
    /// 1-based line of the first line of `text` in the stream.
    pub first_line: usize,
    /// 1-based line of the first content line (what findings point at).
    pub content_line: usize,
    /// The document's text, without its `---` marker.
    pub text: &'a str,
}

/// Whether a line is a document marker (`---`, `--- # comment`, `--- !tag`): the line starts
/// with `---` followed by nothing or whitespace. Block scalars are indented, so a `---` at
/// column 0 always is a marker.
fn is_marker(line: &str) -> bool {
    line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// Splits a stream on `---` lines, keeping each document's line numbers. A leading `---` does not
/// create an empty first document. `...` end markers are dropped.
///
/// ```
/// let docs = gpuguard::yaml::split_documents("a: 1\n---\n# note\nb: 2\n");
/// assert_eq!(docs.len(), 2);
/// // `first_line` is the marker line (what follows `---` on it belongs to the document).
/// assert_eq!((docs[1].first_line, docs[1].content_line), (2, 4));
/// ```
pub fn split_documents(text: &str) -> Vec<RawDocument<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize; // byte offset of the current document's text
    let mut first_line = 1usize;
    let mut offset = 0usize;
    let mut seen_marker_or_content = false;
    for (line_no, line) in (1usize..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        if is_marker(bare) {
            // Text before the first marker is a document only when it has content.
            if seen_marker_or_content || has_content(&text[start..offset]) {
                push_doc(&mut docs, &text[start..offset], first_line);
            }
            seen_marker_or_content = true;
            // `--- {a: 1}`: keep what follows the marker as part of the next document.
            start = offset + 3;
            first_line = line_no;
        } else if bare == "..." {
            // Document end marker: blank it out by ending the document here.
            push_doc(&mut docs, &text[start..offset], first_line);
            seen_marker_or_content = false;
            start = offset + line.len();
            first_line = line_no + 1;
        }
        offset += line.len();
    }
    if seen_marker_or_content || has_content(&text[start..]) {
        push_doc(&mut docs, &text[start..], first_line);
    }
    docs
}

fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    })
}

fn push_doc<'a>(docs: &mut Vec<RawDocument<'a>>, text: &'a str, first_line: usize) {
    let content_line = text
        .lines()
        .position(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .map_or(first_line, |i| first_line + i);
    docs.push(RawDocument { index: docs.len(), first_line, content_line, text });
}

/// Parses one YAML text into a JSON value. Map keys that are not strings (`1:`, `true:`) become
/// their text; `<<` merge keys are applied; tags are dropped. Errors are [`Error::Parse`] with
/// `file` and the absolute line (`first_line` is the line of `text`'s first line in the file).
///
/// ```
/// let v = gpuguard::yaml::parse_value("a: [1, two]\n", "x.yaml", 1).unwrap();
/// assert_eq!(v["a"][1], "two");
/// let e = gpuguard::yaml::parse_value("a: 1\nb: [\n", "x.yaml", 10).unwrap_err();
/// assert!(e.to_string().starts_with("x.yaml:1"), "{e}");
/// ```
pub fn parse_value(text: &str, file: &str, first_line: usize) -> Result<Value> {
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        // An error at the end of input points past the last line: report the last line instead.
        let last = text.lines().count().max(1);
        let line = e.location().map(|l| first_line + l.line().clamp(1, last) - 1);
        let message = match e.location() {
            // serde_yaml prefixes "at line N column M" with relative numbers: keep the message,
            // the absolute line is in `line`.
            Some(_) => e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
            None => e.to_string(),
        };
        Error::Parse {
            file: file.to_owned(),
            line: line.or(Some(first_line)),
            message: format!("invalid YAML: {message}"),
        }
    })?;
    // A merge of a non-mapping is an error in serde_yaml; keep the unmerged value then.
    let _ = value.apply_merge();
    Ok(to_json(value))
}

/// Splits and parses a whole stream: one entry per document, each parsed or its error.
///
/// ```
/// let docs = gpuguard::yaml::parse_documents("kind: Pod\n---\nkind: [\n---\nkind: Node\n", "m.yaml");
/// assert_eq!(docs.len(), 3);
/// assert_eq!(docs[0].as_ref().unwrap().value["kind"], "Pod");
/// assert!(docs[1].is_err());
/// assert_eq!(docs[2].as_ref().unwrap().line, 5);
/// ```
pub fn parse_documents(text: &str, file: &str) -> Vec<Result<Document>> {
    split_documents(text)
        .into_iter()
        .map(|raw| {
            let value = if has_content(raw.text) { parse_value(raw.text, file, raw.first_line)? } else { Value::Null };
            Ok(Document { index: raw.index, line: raw.content_line, value })
        })
        .collect()
}

/// One line of block YAML, as [`locate`] sees it.
struct LineShape<'a> {
    /// Spaces before the first character.
    indent: usize,
    /// Whether the line starts a sequence entry (`- `).
    dash: bool,
    /// Column of the content (after `- ` for an entry).
    content_col: usize,
    /// The content.
    rest: &'a str,
}

fn shape(line: &str) -> Option<LineShape<'_>> {
    let t = line.trim_start_matches(' ');
    if t.trim().is_empty() || t.starts_with('#') {
        return None;
    }
    let indent = line.len() - t.len();
    match t.strip_prefix('-').filter(|r| r.is_empty() || r.starts_with([' ', '\t'])) {
        Some(r) => {
            let rest = r.trim_start();
            Some(LineShape { indent, dash: true, content_col: indent + 1 + (r.len() - rest.len()), rest })
        }
        None => Some(LineShape { indent, dash: false, content_col: indent, rest: t }),
    }
}

/// The 1-based line of a field path (`spec.template.spec.containers[0].resources`) in one
/// document's block-style YAML text, as deep as it can follow it: a segment it cannot find
/// (flow style `{...}`, JSON, a key with dots) stops the walk at the line found so far. `None`
/// when not even the first segment is found.
///
/// ```
/// let text = "kind: Pod\nspec:\n  containers:\n  - name: a\n  - name: b\n    image: x\n";
/// assert_eq!(gpuguard::yaml::locate(text, 10, "spec.containers[1].image"), Some(15));
/// assert_eq!(gpuguard::yaml::locate(text, 10, "spec.containers[1].resources"), Some(14));
/// assert_eq!(gpuguard::yaml::locate(text, 10, "status"), None);
/// ```
pub fn locate(text: &str, first_line: usize, path: &str) -> Option<usize> {
    let lines: Vec<Option<LineShape<'_>>> = text.lines().map(shape).collect();
    let (mut start, mut end) = (0usize, lines.len());
    let mut found: Option<usize> = None;
    for segment in path.split('.') {
        let (key, indices) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        // The mapping's keys sit at the column of the block's first content line.
        let Some(col) = lines[start..end].iter().flatten().next().map(|l| l.content_col) else { break };
        let hit = (start..end).find(|&j| {
            lines[j].as_ref().is_some_and(|l| {
                l.content_col == col && {
                    let r = l.rest.trim_start_matches(['"', '\'']);
                    r.strip_prefix(key).is_some_and(|r| r.trim_start_matches(['"', '\'']).starts_with(':'))
                }
            })
        });
        let Some(j) = hit else { break };
        found = Some(j);
        // The value's block: deeper lines, or entries of a sequence written at the key's column.
        let block_end = (j + 1..end)
            .find(|&k| lines[k].as_ref().is_some_and(|l| l.indent < col || (l.indent == col && !l.dash)))
            .unwrap_or(end);
        (start, end) = (j + 1, block_end);
        for idx in indices.split(['[', ']']).filter(|x| !x.is_empty()) {
            let Ok(n) = idx.parse::<usize>() else { return found.map(|f| first_line + f) };
            let Some(dash_col) = lines[start..end].iter().flatten().next().filter(|l| l.dash).map(|l| l.indent) else {
                return found.map(|f| first_line + f);
            };
            let entries: Vec<usize> =
                (start..end).filter(|&k| lines[k].as_ref().is_some_and(|l| l.dash && l.indent == dash_col)).collect();
            let Some(&e) = entries.get(n) else { return found.map(|f| first_line + f) };
            found = Some(e);
            let next = entries.get(n + 1).copied().unwrap_or(end);
            (start, end) = (e, next);
        }
        if start >= end {
            break;
        }
    }
    found.map(|f| first_line + f)
}

fn to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                out.insert(key_text(k), to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => to_json(t.value),
    }
}

fn key_text(k: serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::String(s) => s,
        serde_yaml::Value::Null => "null".into(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        other => serde_yaml::to_string(&other).unwrap_or_default().trim_end().to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_lines() {
        let text = "---\n# c\napiVersion: v1\nkind: Pod\n---\n---\nkind: Node\n...\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3, "{docs:?}");
        assert_eq!(docs[0].content_line, 3);
        assert!(!has_content(docs[1].text));
        assert_eq!(docs[2].content_line, 7);
    }

    #[test]
    fn no_leading_marker_and_block_scalar() {
        let text = "kind: ConfigMap\ndata:\n  a: |\n    ---\n    x: 1\n";
        let docs = parse_documents(text, "f");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].as_ref().unwrap().value["data"]["a"], "---\nx: 1\n");
    }

    #[test]
    fn error_line_is_absolute() {
        let text = "kind: Pod\n---\nkind: Pod\nmetadata:\n  name: [x\n---\nkind: Node\n";
        let docs = parse_documents(text, "m.yaml");
        let Err(Error::Parse { file, line, message }) = &docs[1] else { panic!("{docs:?}") };
        assert_eq!(file, "m.yaml");
        assert!(matches!(line, Some(5..=6)), "{line:?} {message}");
        assert!(docs[2].is_ok());
    }

    #[test]
    fn json_and_odd_keys() {
        let v = parse_value("{\"kind\": \"List\", \"items\": []}", "f", 1).unwrap();
        assert_eq!(v["kind"], "List");
        let v = parse_value("1: a\ntrue: b\nbase: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n", "f", 1).unwrap();
        assert_eq!(v["1"], "a");
        assert_eq!(v["true"], "b");
        assert_eq!(v["d"]["x"], 1);
    }
}
