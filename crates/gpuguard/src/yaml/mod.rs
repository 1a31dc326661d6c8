//! The one module that parses YAML: it splits a multi-document YAML (or JSON) byte stream into
//! documents that know their first line, and turns each into a plain [`serde_json::Value`] plus a
//! [`Lines`] tree that holds the line of every key and item, so a finding can point at the line of
//! its field in block YAML, flow YAML and JSON alike. The rest of the crate never sees the YAML
//! library (`yaml-rust2`, whose event parser gives each event its line).
//!
//! Each document is parsed on its own: invalid UTF-8 or a syntax error is an error for that
//! document (with the file and line), and the others are still parsed.

use crate::{Error, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

mod json;
mod lenient;

/// How deep mappings and sequences may nest. Real manifests stay under 30 levels; the cap keeps a
/// hostile input from exhausting the stack when the value is dropped.
const MAX_DEPTH: usize = 512;

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 0-based index of the document in its stream (empty documents count, as in `kubectl`).
    pub index: usize,
    /// 1-based line of the document's first content line (not `---`, blank or comment lines).
    pub line: usize,
    /// The parsed content; `Value::Null` for an empty document.
    pub value: Value,
    /// The line of every key and item of `value`.
    pub lines: Lines,
}

/// A document's raw bytes and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDocument<'a> {
    /// 0-based index in the stream.
    pub index: usize,
    /// 1-based line of the first line of `bytes` in the stream.
    pub first_line: usize,
    /// 1-based line of the first content line (what findings point at).
    pub content_line: usize,
    /// The document's bytes, without its `---` marker (not yet checked to be UTF-8).
    pub bytes: &'a [u8],
}

impl<'a> RawDocument<'a> {
    /// The document as text; invalid UTF-8 is an [`Error::Parse`] at the line of the first bad
    /// byte.
    pub fn text(&self, file: &str) -> Result<&'a str> {
        std::str::from_utf8(self.bytes).map_err(|e| {
            let good = &self.bytes[..e.valid_up_to()];
            let newlines = memchr::memchr_iter(b'\n', good).count();
            let column = good.len() - good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
            Error::Parse {
                file: file.to_owned(),
                line: Some(self.first_line + newlines),
                message: format!("invalid UTF-8 (byte {:#04x} at column {column})", self.bytes[e.valid_up_to()]),
            }
        })
    }

    /// Whether the document has anything but blank lines and comments.
    pub fn has_content(&self) -> bool {
        self.content_line_offset().is_some()
    }

    fn content_line_offset(&self) -> Option<usize> {
        self.bytes.split(|&b| b == b'\n').position(|l| {
            let t = l.trim_ascii();
            !t.is_empty() && t[0] != b'#'
        })
    }
}

/// Whether a line is a document marker (`---`, `--- # comment`, `--- !tag`): the line starts
/// with `---` followed by nothing or whitespace. Block scalars are indented, so a `---` at
/// column 0 always is a marker.
fn is_marker(line: &[u8]) -> bool {
    line.strip_prefix(b"---").is_some_and(|rest| rest.is_empty() || matches!(rest[0], b' ' | b'\t' | b'\r'))
}

/// Splits a stream on `---` lines, keeping each document's line numbers. A leading `---` does not
/// create an empty first document. `...` end markers are dropped. A UTF-8 byte order mark at the
/// start is skipped. Linear in the input.
pub fn split_documents(bytes: &[u8]) -> Vec<RawDocument<'_>> {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut docs = Vec::new();
    let mut start = 0usize; // byte offset of the current document's text
    let mut first_line = 1usize;
    let mut offset = 0usize;
    let mut seen_marker = false;
    let mut line_no = 1usize;
    while offset < text.len() {
        let end = memchr::memchr(b'\n', &text[offset..]).map_or(text.len(), |i| offset + i + 1);
        let line = &text[offset..end];
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if is_marker(bare) {
            // Text before the first marker is a document only when it has content.
            let before = RawDocument { index: 0, first_line, content_line: 0, bytes: &text[start..offset] };
            if seen_marker || before.has_content() {
                push_doc(&mut docs, &text[start..offset], first_line);
            }
            seen_marker = true;
            // `--- {a: 1}`: keep what follows the marker as part of the next document.
            start = offset + 3;
            first_line = line_no;
        } else if bare == b"..." {
            push_doc(&mut docs, &text[start..offset], first_line);
            seen_marker = false;
            start = end;
            first_line = line_no + 1;
        }
        offset = end;
        line_no += 1;
    }
    let rest = RawDocument { index: 0, first_line, content_line: 0, bytes: &text[start..] };
    if seen_marker || rest.has_content() {
        push_doc(&mut docs, &text[start..], first_line);
    }
    docs
}

fn push_doc<'a>(docs: &mut Vec<RawDocument<'a>>, bytes: &'a [u8], first_line: usize) {
    let mut d = RawDocument { index: docs.len(), first_line, content_line: first_line, bytes };
    d.content_line = d.content_line_offset().map_or(first_line, |i| first_line + i);
    docs.push(d);
}

/// The line of every key and sequence item of a parsed document, in the shape of its value: a
/// mapping's children are in the order of the value's keys (serde_json keeps insertion order),
/// a sequence's in item order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    /// 1-based line of this node (a mapping entry: its key's line; an item: where it starts).
    pub line: usize,
    /// A boxed slice, not a `Vec`: one word less per node and no spare capacity (a 4,000-pod
    /// `List` has millions of nodes).
    children: Box<[Lines]>,
}

impl Lines {
    /// The child for `key` of a mapping `value` (the value these lines describe).
    pub fn key<'a>(&'a self, value: &'a Value, key: &str) -> Option<(&'a Lines, &'a Value)> {
        let map = value.as_object()?;
        let (i, (_, v)) = map.iter().enumerate().find(|(_, (k, _))| k.as_str() == key)?;
        Some((self.children.get(i)?, v))
    }

    /// The child for item `index` of a sequence `value`.
    pub fn item<'a>(&'a self, value: &'a Value, index: usize) -> Option<(&'a Lines, &'a Value)> {
        Some((self.children.get(index)?, value.as_array()?.get(index)?))
    }

    /// The line of a field path (`spec.containers[0].resources.limits.nvidia.com/gpu`) in the
    /// document `value` these lines describe, as deep as the path exists: a missing field stops at
    /// the line of its deepest existing parent. Keys that contain dots (`nvidia.com/gpu`) are
    /// matched whole. An empty path is this node's line. Costs the path's depth times the width
    /// of the mappings on it, never the size of the document.
    pub fn line_of(&self, value: &Value, path: &str) -> usize {
        let (mut node, mut value, mut rest) = (self, value, path);
        while !rest.is_empty() {
            let step = if let Some(r) = rest.strip_prefix('[') {
                let Some((n, after)) = r.split_once(']') else { break };
                n.parse().ok().and_then(|i| node.item(value, i)).map(|(l, v)| (l, v, after))
            } else {
                let r = rest.strip_prefix('.').unwrap_or(rest);
                // The longest key that the path continues with, followed by `.`, `[` or the end.
                value.as_object().and_then(|m| {
                    m.iter()
                        .enumerate()
                        .filter(|(_, (k, _))| {
                            r.strip_prefix(k.as_str()).is_some_and(|a| a.is_empty() || a.starts_with(['.', '[']))
                        })
                        .max_by_key(|(_, (k, _))| k.len())
                        .and_then(|(i, (k, v))| Some((node.children.get(i)?, v, &r[k.len()..])))
                })
            };
            let Some((n, v, r)) = step else { break };
            (node, value, rest) = (n, v, r);
        }
        node.line
    }
}

/// Parses one YAML (or JSON) text into a JSON value and its [`Lines`]. Map keys that are not
/// strings (`1:`, `true:`) become their text; `<<` merge keys are applied; tags are dropped;
/// aliases are expanded up to a budget proportional to the input (a "billion laughs" document is
/// an error, not an allocation). Errors are [`Error::Parse`] with `file` and the absolute line
/// (`first_line` is the line of `text`'s first line in the file).
pub fn parse_value(text: &str, file: &str, first_line: usize) -> Result<(Value, Lines)> {
    // An error at the end of input points past the last line: report the last line instead.
    let err = |line: usize, message: String| Error::Parse {
        file: file.to_owned(),
        line: Some(line.min(first_line + text.lines().count().max(1) - 1)),
        message: format!("invalid YAML: {message}"),
    };
    // JSON (what `kubectl get -o json` writes) takes the JSON reader: yaml-rust2's scanner queues
    // every token of a flow collection until it closes, which for a 4,000-pod `List` is a
    // 160 MiB queue. Text that is not valid JSON is YAML (JSON is a subset) and takes the YAML
    // parser, whose error messages speak YAML.
    if text.trim_start().starts_with(['{', '[']) {
        match json::parse(text, Builder::new(text.len(), first_line)) {
            Some(Ok(parsed)) => return Ok(parsed),
            Some(Err((line, message))) => return Err(err(line, message)),
            None => {}
        }
    }
    match parse_yaml(text, first_line) {
        Ok(parsed) => Ok(parsed),
        Err((line, message)) => lenient::parse(text, first_line, line).ok_or_else(|| err(line, message)),
    }
}

/// yaml-rust2's reading of one document: the value and lines, or the absolute line and message
/// of its error.
fn parse_yaml(text: &str, first_line: usize) -> std::result::Result<(Value, Lines), (usize, String)> {
    let mut b = Builder::new(text.len(), first_line);
    if memchr::memchr_iter(b'\r', text.as_bytes()).any(|i| text.as_bytes().get(i + 1) != Some(&b'\n')) {
        b.newlines = Some(text.chars().enumerate().filter(|(_, c)| *c == '\n').map(|(i, _)| i).collect());
    }
    let mut parser = Parser::new_from_str(text);
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| (b.abs(*e.marker()), e.info().to_owned()))?;
        match ev {
            Event::StreamEnd => break,
            // A second document inside one `---` section cannot happen after splitting; stop.
            Event::DocumentEnd if b.root.is_some() => break,
            _ => {}
        }
        b.event(ev, mark).map_err(|m| (b.abs(mark), m))?;
    }
    Ok(b.into_root())
}

/// The one key no rule reads and no document keeps: `metadata.managedFields`, server-side apply's
/// bookkeeping, often half of a `kubectl get -o json`. Not building it keeps memory in line with
/// what is judged.
const SKIPPED_KEY: &str = "managedFields";

/// A node under construction.
enum Open {
    Map { entries: Vec<(String, Value, Lines)>, key: Option<(String, usize)>, line: usize, anchor: usize },
    Seq { items: Vec<Value>, lines: Vec<Lines>, line: usize, anchor: usize },
}

struct Builder {
    stack: Vec<Open>,
    /// Nesting depth inside a `managedFields` value being skipped (0: not skipping).
    skipping: usize,
    /// Anchored nodes (by the parser's anchor id), their lines, and their node count.
    anchors: HashMap<usize, (Value, Lines, usize)>,
    /// Nodes left to create, aliases counted in full.
    budget: usize,
    first_line: usize,
    root: Option<(Value, Lines)>,
    /// The character index of every `\n`, for a text with a lone `\r`: yaml-rust2 counts a lone
    /// `\r` as a line break (YAML does), every other part of gpuguard and every `sed -n Np`
    /// counts `\n` only. `None` (the marks' own lines) for every other text.
    newlines: Option<Vec<usize>>,
}

impl Builder {
    /// A builder for a text of `len` bytes whose first line is line `first_line` of its file.
    fn new(len: usize, first_line: usize) -> Self {
        Builder {
            stack: Vec::new(),
            skipping: 0,
            anchors: HashMap::new(),
            budget: len.saturating_mul(4).saturating_add(100_000),
            first_line,
            root: None,
            newlines: None,
        }
    }

    /// The finished document (`Value::Null` when it had no node).
    fn into_root(self) -> (Value, Lines) {
        let line = self.first_line;
        self.root.unwrap_or((Value::Null, Lines { line, children: Box::default() }))
    }

    fn abs(&self, mark: Marker) -> usize {
        match &self.newlines {
            Some(at) => self.first_line + at.partition_point(|&i| i < mark.index()),
            None => self.first_line + mark.line().max(1) - 1,
        }
    }

    fn spend(&mut self, nodes: usize) -> std::result::Result<(), String> {
        self.budget = self
            .budget
            .checked_sub(nodes)
            .ok_or_else(|| "aliases expand to more nodes than the input could hold; refused".to_owned())?;
        Ok(())
    }

    fn event(&mut self, ev: Event, mark: Marker) -> std::result::Result<(), String> {
        let line = self.abs(mark);
        // The value of a SKIPPED_KEY is not built.
        if self.skipping > 0 {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skipping += 1,
                Event::MappingEnd | Event::SequenceEnd => self.skipping -= 1,
                _ => {}
            }
            if self.skipping == 0 {
                self.drop_pending_key();
            }
            return Ok(());
        }
        if matches!(self.stack.last(), Some(Open::Map { key: Some((k, _)), .. }) if k == SKIPPED_KEY) {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skipping = 1,
                _ => self.drop_pending_key(),
            }
            return Ok(());
        }
        match ev {
            Event::MappingStart(anchor, _) => self.open_map(line, anchor),
            Event::SequenceStart(anchor, _) => self.open_seq(line, anchor),
            Event::MappingEnd => self.close_map(),
            Event::SequenceEnd => self.close_seq(),
            Event::Scalar(text, style, anchor, tag) => {
                // A mapping waiting for a key takes the scalar as its key, as text.
                if self.awaits_key() {
                    self.key(text, line);
                    return Ok(());
                }
                let is_str = style != TScalarStyle::Plain || tag.is_some_and(|t| t.suffix == "str");
                let value = if is_str { Value::String(text) } else { resolve(text) };
                self.scalar(value, line, anchor)
            }
            Event::Alias(id) => {
                let Some((value, lines, nodes)) = self.anchors.get(&id) else {
                    return Err("alias to an unknown anchor".into());
                };
                let (value, lines, nodes) = (value.clone(), lines.clone(), *nodes);
                self.spend(nodes)?;
                if self.awaits_key() {
                    self.key(key_text(&value), line);
                    return Ok(());
                }
                self.finish(value, Lines { line, children: lines.children }, 0)
            }
            _ => Ok(()),
        }
    }

    /// Opens a mapping that starts at `line` (`anchor` 0: none).
    fn open_map(&mut self, line: usize, anchor: usize) -> std::result::Result<(), String> {
        self.check_depth()?;
        self.stack.push(Open::Map { entries: Vec::new(), key: None, line, anchor });
        Ok(())
    }

    /// Opens a sequence that starts at `line`.
    fn open_seq(&mut self, line: usize, anchor: usize) -> std::result::Result<(), String> {
        self.check_depth()?;
        self.stack.push(Open::Seq { items: Vec::new(), lines: Vec::new(), line, anchor });
        Ok(())
    }

    fn check_depth(&self) -> std::result::Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn close_map(&mut self) -> std::result::Result<(), String> {
        let Some(Open::Map { entries, line, anchor, .. }) = self.stack.pop() else {
            return Err("unbalanced mapping".into());
        };
        let (value, lines) = build_map(entries, line);
        self.finish(value, lines, anchor)
    }

    fn close_seq(&mut self) -> std::result::Result<(), String> {
        let Some(Open::Seq { items, lines, line, anchor }) = self.stack.pop() else {
            return Err("unbalanced sequence".into());
        };
        self.finish(Value::Array(items), Lines { line, children: lines.into_boxed_slice() }, anchor)
    }

    /// Whether the innermost open node is a mapping waiting for its next key.
    fn awaits_key(&self) -> bool {
        matches!(self.stack.last(), Some(Open::Map { key: None, .. }))
    }

    /// The next key of the innermost mapping, written at `line`.
    fn key(&mut self, text: String, line: usize) {
        if let Some(Open::Map { key, .. }) = self.stack.last_mut() {
            *key = Some((text, line));
        }
    }

    /// A scalar value written at `line`.
    fn scalar(&mut self, value: Value, line: usize, anchor: usize) -> std::result::Result<(), String> {
        self.finish(value, Lines { line, children: Box::default() }, anchor)
    }

    fn drop_pending_key(&mut self) {
        if let Some(Open::Map { key, .. }) = self.stack.last_mut() {
            *key = None;
        }
    }

    /// Hands a completed node to its parent (or makes it the root).
    fn finish(&mut self, value: Value, lines: Lines, anchor: usize) -> std::result::Result<(), String> {
        self.spend(1)?;
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), lines.clone(), count_nodes(&value)));
        }
        match self.stack.last_mut() {
            None => self.root = Some((value, lines)),
            Some(Open::Seq { items, lines: l, .. }) => {
                items.push(value);
                l.push(lines);
            }
            Some(Open::Map { entries, key, .. }) => match key.take() {
                // A complex key (a mapping or sequence used as a key) becomes its text.
                None => *key = Some((key_text(&value), lines.line)),
                Some((k, key_line)) => entries.push((k, value, Lines { line: key_line, children: lines.children })),
            },
        }
        Ok(())
    }
}

/// Builds a mapping from its entries in order: a repeated key keeps its first place and takes the
/// last value; `<<` merges the keys of a mapping (or of a list of mappings) that are not set.
/// Linear in the entries: the map's own hash finds repeated keys, and the place of a repeated key
/// (needed for its line) is looked up in a hash index once a mapping is wide.
fn build_map(entries: Vec<(String, Value, Lines)>, line: usize) -> (Value, Lines) {
    let mut keyed =
        Keyed { map: Map::with_capacity(entries.len()), lines: Vec::with_capacity(entries.len()), index: None };
    let mut merges = Vec::new();
    for (k, v, l) in entries {
        if k == "<<" && (v.is_object() || v.is_array()) {
            merges.push((v, l));
            continue;
        }
        keyed.put(k, v, l);
    }
    for (v, l) in merges {
        let sources: Vec<(Value, Lines)> = match v {
            Value::Array(items) => items.into_iter().zip(l.children.into_vec()).collect(),
            other => vec![(other, l)],
        };
        for (src, src_lines) in sources {
            let Value::Object(m) = src else { continue };
            for ((k, v), kl) in m.into_iter().zip(src_lines.children.into_vec()) {
                keyed.merge(k, v, kl);
            }
        }
    }
    (Value::Object(keyed.map), Lines { line, children: keyed.lines.into_boxed_slice() })
}

/// A mapping under construction and the lines of its entries, in the map's order.
struct Keyed {
    map: Map<String, Value>,
    lines: Vec<Lines>,
    /// Key → place, built at the first repeated key of a wide mapping.
    index: Option<HashMap<String, usize>>,
}

impl Keyed {
    const SCAN: usize = 16;

    /// Adds an entry; a repeated key takes the new value and line in its first place.
    fn put(&mut self, k: String, v: Value, l: Lines) {
        let place = self.map.len();
        if let Some(index) = &mut self.index {
            index.entry(k.clone()).or_insert(place);
        }
        match self.map.get_mut(&k) {
            Some(old) => {
                *old = v;
                let i = self.place(&k);
                self.lines[i] = l;
            }
            None => {
                self.map.insert(k, v);
                self.lines.push(l);
            }
        }
    }

    /// Adds a merged (`<<`) entry unless the key is set.
    fn merge(&mut self, k: String, v: Value, l: Lines) {
        if !self.map.contains_key(&k) {
            if let Some(index) = &mut self.index {
                index.insert(k.clone(), self.map.len());
            }
            self.map.insert(k, v);
            self.lines.push(l);
        }
    }

    /// The place of a key that is in the map.
    fn place(&mut self, k: &str) -> usize {
        if self.map.len() <= Self::SCAN {
            return self.map.keys().position(|e| e == k).unwrap_or(0);
        }
        let map = &self.map;
        let index = self.index.get_or_insert_with(|| map.keys().enumerate().map(|(i, e)| (e.clone(), i)).collect());
        index.get(k).copied().unwrap_or(0)
    }
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

/// A plain scalar's type under YAML 1.2's core schema (`yes`/`on` stay strings).
fn resolve(text: String) -> Value {
    use yaml_rust2::Yaml;
    match Yaml::from_str(&text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(r) => match r.trim_start_matches('+').parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(n) => Value::Number(n),
            // .inf and .nan have no JSON number: keep the text.
            None => Value::String(text),
        },
        _ => Value::String(text),
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Splits and parses a whole stream: one entry per document, each parsed or its error.
#[cfg(test)]
pub fn parse_documents(bytes: &[u8], file: &str) -> Vec<Result<Document>> {
    split_documents(bytes).into_iter().map(|raw| parse_document(&raw, file)).collect()
}

/// Parses one split document (an empty one is `Value::Null`).
pub fn parse_document(raw: &RawDocument<'_>, file: &str) -> Result<Document> {
    let (value, lines) = if raw.has_content() {
        parse_value(raw.text(file)?, file, raw.first_line)?
    } else {
        (Value::Null, Lines { line: raw.content_line, children: Box::default() })
    };
    Ok(Document { index: raw.index, line: raw.content_line, value, lines })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_compact_indented_and_flow_sequences() {
        let text = "spec:\n  containers:\n    - name: a\n      image: x\n    - \"name\": b\n      resources:\n        limits: {}\n";
        let doc = parse_documents(text.as_bytes(), "f").remove(0).unwrap();
        assert_eq!(doc.lines.line_of(&doc.value, "spec.containers[1].resources.limits"), 7);
        assert_eq!(doc.lines.line_of(&doc.value, "spec.containers[5]"), 2);
        let doc = parse_documents(b"{\"spec\":\n {}}", "f").remove(0).unwrap();
        assert_eq!(doc.lines.line_of(&doc.value, "spec"), 1);
    }

    #[test]
    fn text_names_the_line_and_column_of_invalid_utf8() {
        let docs = split_documents(b"a: 1\n---\nb: \xff\n");
        assert_eq!(docs[0].text("f").unwrap(), "a: 1\n");
        assert_eq!(docs[1].text("f").unwrap_err().to_string(), "f:3: invalid UTF-8 (byte 0xff at column 4)");
    }

    #[test]
    fn split_documents_counts_from_the_marker_line() {
        let docs = split_documents(b"a: 1\n---\n# note\nb: 2\n");
        assert_eq!(docs.len(), 2);
        // `first_line` is the marker line (what follows `---` on it belongs to the document).
        assert_eq!((docs[1].first_line, docs[1].content_line), (2, 4));
    }

    #[test]
    fn line_of_finds_fields_inside_flow_mappings() {
        let doc = &parse_documents(
            b"kind: Pod\nspec:\n  containers:\n  - {name: a,\n     resources: {limits: {nvidia.com/gpu: 1}}}\n",
            "f",
        )[0];
        let doc = doc.as_ref().unwrap();
        assert_eq!(doc.lines.line_of(&doc.value, "spec.containers[0].resources.limits.nvidia.com/gpu"), 5);
        assert_eq!(doc.lines.line_of(&doc.value, "spec.containers[0].volumeMounts"), 4);
    }

    #[test]
    fn parse_value_gives_lines_and_located_errors() {
        let (v, lines) = parse_value("a: [1, two]\n", "x.yaml", 1).unwrap();
        assert_eq!(v["a"][1], "two");
        assert_eq!(lines.line_of(&v, "a[1]"), 1);
        let e = parse_value("a: 1\nb: [\n", "x.yaml", 10).unwrap_err();
        assert!(e.to_string().starts_with("x.yaml:1"), "{e}");
    }

    #[test]
    fn parse_documents_keeps_an_error_per_document() {
        let docs = parse_documents(b"kind: Pod\n---\nkind: [\n---\nkind: Node\n", "m.yaml");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].as_ref().unwrap().value["kind"], "Pod");
        assert!(docs[1].is_err());
        assert_eq!(docs[2].as_ref().unwrap().line, 5);
    }

    #[test]
    fn markers_and_lines() {
        let text = b"---\n# c\napiVersion: v1\nkind: Pod\n---\n---\nkind: Node\n...\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3, "{docs:?}");
        assert_eq!(docs[0].content_line, 3);
        assert!(!docs[1].has_content());
        assert_eq!(docs[2].content_line, 7);
    }

    #[test]
    fn no_leading_marker_and_block_scalar() {
        let text = b"kind: ConfigMap\ndata:\n  a: |\n    ---\n    x: 1\n";
        let docs = parse_documents(text, "f");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].as_ref().unwrap().value["data"]["a"], "---\nx: 1\n");
    }

    #[test]
    fn error_line_is_absolute() {
        let text = b"kind: Pod\n---\nkind: Pod\nmetadata:\n  name: [x\n---\nkind: Node\n";
        let docs = parse_documents(text, "m.yaml");
        let Err(Error::Parse { file, line, message }) = &docs[1] else { panic!("{docs:?}") };
        assert_eq!(file, "m.yaml");
        assert!(matches!(line, Some(5..=6)), "{line:?} {message}");
        assert!(docs[2].is_ok());
    }

    #[test]
    fn json_and_odd_keys() {
        let (v, _) = parse_value("{\"kind\": \"List\", \"items\": []}", "f", 1).unwrap();
        assert_eq!(v["kind"], "List");
        let (v, l) = parse_value("1: a\ntrue: b\nbase: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n", "f", 1).unwrap();
        assert_eq!(v["1"], "a");
        assert_eq!(v["true"], "b");
        assert_eq!(v["d"]["x"], 1);
        assert_eq!(l.line_of(&v, "d.y"), 6);
        assert_eq!(l.line_of(&v, "d.x"), 3, "a merged key points where its anchor wrote it");
    }

    #[test]
    fn scalar_types() {
        let (v, _) = parse_value("a: 1\nb: '1'\nc: 1.5\nd: yes\ne: ~\nf: True\ng: !!str 2\nh: .inf\n", "f", 1).unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], "1");
        assert_eq!(v["c"], 1.5);
        assert_eq!(v["d"], "yes");
        assert!(v["e"].is_null());
        assert_eq!(v["f"], true);
        assert_eq!(v["g"], "2");
        assert_eq!(v["h"], ".inf");
    }

    #[test]
    fn json_lines() {
        let text = "{\n  \"kind\": \"Pod\",\n  \"spec\": {\n    \"containers\": [\n      {\n        \"name\": \"c\",\n        \"resources\": {\"requests\": {\"nvidia.com/gpu\": 1}}\n      }\n    ]\n  }\n}\n";
        let (v, l) = parse_value(text, "f", 1).unwrap();
        assert_eq!(l.line_of(&v, "spec.containers[0].resources.requests.nvidia.com/gpu"), 7);
        assert_eq!(l.line_of(&v, "spec.containers[0].name"), 6);
        assert_eq!(l.line_of(&v, "spec.containers[0]"), 5);
        assert_eq!(l.line_of(&v, "spec.nothing"), 3);
    }

    #[test]
    fn hostile_inputs_are_errors() {
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(parse_value(laughs, "f", 1).unwrap_err().to_string().contains("aliases"));
        let deep = "[".repeat(100_000);
        assert!(parse_value(&deep, "f", 1).is_err());
        let mut block = String::new();
        for i in 0..600 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        assert!(parse_value(&block, "f", 1).unwrap_err().to_string().contains("nested deeper"));
    }

    #[test]
    fn repeated_keys_keep_their_place_and_take_the_last_value() {
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("k{i}: {i}\n"));
        }
        text.push_str("k3: last\nk39: end\n");
        let (v, l) = parse_value(&text, "f", 1).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 40);
        assert_eq!(v["k3"], "last");
        assert_eq!(v.as_object().unwrap().keys().nth(3).map(String::as_str), Some("k3"));
        assert_eq!(l.line_of(&v, "k3"), 41);
        assert_eq!(l.line_of(&v, "k39"), 42);
    }

    #[test]
    fn managed_fields_are_not_built() {
        let text = "{\"metadata\": {\"managedFields\": [{\"manager\": \"kubectl\", \"fieldsV1\": {\"f:spec\": {}}}],\n \"name\": \"p\"},\n \"kind\": \"Pod\"}";
        let (v, l) = parse_value(text, "f", 1).unwrap();
        assert_eq!(v["metadata"].as_object().unwrap().len(), 1);
        assert_eq!(v["metadata"]["name"], "p");
        assert_eq!(l.line_of(&v, "metadata.name"), 2);
        assert_eq!(l.line_of(&v, "kind"), 3);
    }

    #[test]
    fn a_lone_carriage_return_is_not_a_line() {
        let (v, l) = parse_value("kind: Pod\r# é\rspec:\n  x: 1\r\n  y: [\r\n  2]\n", "f", 3).unwrap();
        assert_eq!(l.line_of(&v, "spec"), 3);
        assert_eq!(l.line_of(&v, "spec.x"), 4);
        assert_eq!(l.line_of(&v, "spec.y[0]"), 6);
    }

    #[test]
    fn bom_and_crlf() {
        let docs = parse_documents(b"\xef\xbb\xbfkind: Pod\r\n---\r\nkind: Node\r\n", "f");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].as_ref().unwrap().value["kind"], "Node");
    }
}
