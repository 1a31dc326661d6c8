//! JSON log lines: one JSON object per line, as `journalctl -o json` and log shippers write them.
//!
//! - journald (`journalctl -o json`, Fluent Bit's `systemd` input): the message is `MESSAGE` (a
//!   string, or an array of bytes when it is not UTF-8), who wrote it is `_TRANSPORT` (`kernel`
//!   for the kernel's ring buffer; `syslog`, `journal`, `stdout` for user space, named by
//!   `SYSLOG_IDENTIFIER`), when is `__REALTIME_TIMESTAMP` (microseconds since the Unix epoch).
//! - Vector's `journald` source keeps those fields but names the message `message` and adds
//!   `host` and an RFC 3339 `timestamp`; its `syslog` source names the writer `appname`.
//! - Fluent Bit's `kmsg` input: `priority` (facility × 8 + level, so facility 0 is the kernel),
//!   `sequence`, `sec`/`usec` since boot and `msg`.
//! - Docker's `json-file` driver: `log`, `stream` (`stdout`/`stderr`), `time`: whatever a container
//!   printed, user space even when it echoes the kernel's text.
//! - Google Cloud Logging (GKE), Elasticsearch and Fluentd wrap the record in `jsonPayload`,
//!   `_source` or `record`; the envelope's `timestamp` and host count when the record has none.
//! - Loki (`logcli --output jsonl`) and other wrappers that keep the raw line in `line` or `log`:
//!   when no field names the writer, the wrapped line's own header (`… kernel: NVRM: …`) does.

use super::header::{Header, Writer, from_epoch_micros, iso};
use serde_json::{Map, Value};

/// One JSON log line's message and header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JournalLine {
    pub message: Vec<u8>,
    pub header: Header,
}

/// Whether `line` is a JSON object (after leading blanks): then it is read as a JSON log line.
pub(crate) fn is_json(line: &[u8]) -> bool {
    line.trim_ascii_start().first() == Some(&b'{')
}

/// The fields that hold the logged text, in the order shippers use them.
const MESSAGE_FIELDS: [&str; 6] = ["MESSAGE", "message", "msg", "log", "line", "MSG"];
/// The fields that name the writing program (syslog tag / APP-NAME).
const IDENT_FIELDS: [&str; 7] =
    ["SYSLOG_IDENTIFIER", "syslog_identifier", "appname", "app_name", "ident", "program", "tag"];
/// The fields that hold an RFC 3339 time.
const TIME_FIELDS: [&str; 4] = ["timestamp", "@timestamp", "time", "ts"];
/// The fields that name the machine.
const HOST_FIELDS: [&str; 3] = ["_HOSTNAME", "hostname", "host"];

/// Objects that carry a shipped record inside an envelope: Google Cloud Logging's `jsonPayload`
/// (GKE's journald entries), Elasticsearch's `_source`, Fluentd's `record`. Other nested objects
/// (node-problem-detector's `details`) are a monitor's own report, not the logged record.
const ENVELOPES: [&str; 3] = ["jsonPayload", "_source", "record"];

/// Reads one JSON log line. `Err` names why it holds no message to read.
pub(crate) fn journal_line(line: &[u8]) -> Result<JournalLine, &'static str> {
    let v: Value = serde_json::from_slice(line.trim_ascii()).map_err(|_| "a JSON line that is not a log record")?;
    let top = v.as_object().ok_or("a JSON line that is not a log record")?;
    let has_message = |o: &Map<String, Value>| MESSAGE_FIELDS.iter().any(|k| o.contains_key(*k));
    let obj = match ENVELOPES.iter().find_map(|k| top.get(*k).and_then(Value::as_object)) {
        Some(inner) if !has_message(top) && has_message(inner) => inner,
        _ => top,
    };
    let message = MESSAGE_FIELDS
        .iter()
        .find_map(|k| match obj.get(*k) {
            Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
            // Not UTF-8: journalctl writes the bytes as numbers.
            Some(Value::Array(a)) if a.iter().all(Value::is_u64) => {
                Some(a.iter().filter_map(Value::as_u64).map(|b| u8::try_from(b).unwrap_or(b'?')).collect())
            }
            _ => None,
        })
        .ok_or("a JSON record without a message field (MESSAGE, message, msg, log, line)")?;
    // The envelope's own time and host count when the record has none.
    let header = Header {
        timestamp: timestamp(obj).or_else(|| timestamp(top)),
        writer: writer(obj),
        host: host(obj).or_else(|| host(top)),
    };
    Ok(JournalLine { message, header })
}

/// Who wrote the record, from the fields that say; `Untagged` when none does (the wrapped
/// line's own header decides then, see [`super::parse`]).
fn writer(obj: &Map<String, Value>) -> Writer {
    let field = |k: &str| obj.get(k).and_then(Value::as_str);
    let ident = IDENT_FIELDS.iter().find_map(|k| field(k));
    if let Some(t) = field("_TRANSPORT") {
        return match t {
            "kernel" => Writer::Kernel,
            _ => Writer::Program(
                ident.or_else(|| field("_COMM")).map_or_else(|| format!("transport {t}"), str::to_owned),
            ),
        };
    }
    if let Some(ident) = ident {
        return if ident == "kernel" { Writer::Kernel } else { Writer::Program(ident.to_owned()) };
    }
    if let Some(stream @ ("stdout" | "stderr")) = field("stream") {
        return Writer::Program(format!("a container's {stream} (JSON log)"));
    }
    match obj.get("facility") {
        Some(Value::String(f)) if f == "kern" || f == "kernel" => return Writer::Kernel,
        Some(Value::String(f)) => return Writer::Program(format!("facility {f}")),
        Some(Value::Number(n)) => {
            return if n.as_u64() == Some(0) { Writer::Kernel } else { Writer::Program(format!("facility {n}")) };
        }
        _ => {}
    }
    // Fluent Bit's kmsg input: the record's priority carries the facility.
    if let (Some(p), true) = (obj.get("priority").and_then(Value::as_u64), obj.contains_key("sequence")) {
        return if p >> 3 == 0 { Writer::Kernel } else { Writer::Program(format!("facility {}", p >> 3)) };
    }
    Writer::Untagged
}

/// When: journald's `__REALTIME_TIMESTAMP`, an RFC 3339 time field, or kmsg's `sec`.`usec` since
/// boot (as written, like dmesg's).
fn timestamp(obj: &Map<String, Value>) -> Option<String> {
    let field = |k: &str| obj.get(k).and_then(Value::as_str);
    if let Some(us) = field("__REALTIME_TIMESTAMP").and_then(|t| t.parse::<u64>().ok()) {
        return Some(from_epoch_micros(us));
    }
    if let Some(t) = TIME_FIELDS.iter().find_map(|k| field(k)) {
        return iso(t.as_bytes()).or_else(|| Some(t.to_owned()).filter(|t| t.len() <= 40));
    }
    let (sec, usec) = (obj.get("sec")?.as_u64()?, obj.get("usec").and_then(Value::as_u64).unwrap_or(0));
    Some(format!("{sec}.{usec:06}"))
}

fn host(obj: &Map<String, Value>) -> Option<String> {
    HOST_FIELDS.iter().find_map(|k| obj.get(*k).and_then(Value::as_str)).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_user_and_binary_entries() {
        let k = journal_line(br#"{"__REALTIME_TIMESTAMP":"1710403331100200","_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"NVRM: Xid (PCI:0000:3b:00): 79, pid=1, name=x, GPU has fallen off the bus."}"#).unwrap();
        assert_eq!(
            k.header,
            Header { timestamp: Some("2024-03-14T08:02:11.1002Z".into()), writer: Writer::Kernel, host: None }
        );
        assert!(k.message.starts_with(b"NVRM: Xid"));
        let u = journal_line(br#"{"_TRANSPORT":"syslog","SYSLOG_IDENTIFIER":"someuser","MESSAGE":"NVRM: Xid 79"}"#)
            .unwrap();
        assert_eq!(u.header.writer, Writer::Program("someuser".into()));
        let b = journal_line(br#"{"_TRANSPORT":"kernel","MESSAGE":[78,86,82,77,255]}"#).unwrap();
        assert_eq!(b.message, b"NVRM\xff");
        assert!(journal_line(b"{not json").is_err());
        assert!(journal_line(br#"{"MESSAGE":null}"#).is_err());
        assert!(is_json(b"  {\"a\":1}") && !is_json(b"[ 1.0] NVRM"));
    }

    /// The JSON shapes log shippers write: the writer, time and host each come from their fields.
    #[test]
    fn shipper_shapes() {
        let h = |s: &str| journal_line(s.as_bytes()).unwrap().header;
        // Vector's journald source
        let v = h(
            r#"{"_TRANSPORT":"kernel","host":"gpu-5","message":"x","source_type":"journald","timestamp":"2026-03-14T08:02:11.100200Z"}"#,
        );
        assert_eq!(
            v,
            Header {
                timestamp: Some("2026-03-14T08:02:11.1002Z".into()),
                writer: Writer::Kernel,
                host: Some("gpu-5".into())
            }
        );
        // Vector's syslog source
        assert_eq!(h(r#"{"appname":"kernel","hostname":"gpu-6","message":"x"}"#).writer, Writer::Kernel);
        assert_eq!(h(r#"{"appname":"python3","message":"x"}"#).writer, Writer::Program("python3".into()));
        // Fluent Bit's kmsg input: facility 0 is the kernel, 1 is user space
        let f = h(r#"{"priority":3,"sequence":1234,"sec":812,"usec":330000,"msg":"x"}"#);
        assert_eq!((f.writer, f.timestamp.as_deref()), (Writer::Kernel, Some("812.330000")));
        assert_eq!(h(r#"{"priority":12,"sequence":1,"sec":1,"msg":"x"}"#).writer, Writer::Program("facility 1".into()));
        // Docker json-file: a container's output
        assert_eq!(
            h(r#"{"log":"x\n","stream":"stdout","time":"2026-03-14T08:02:11.1Z"}"#).writer,
            Writer::Program("a container's stdout (JSON log)".into())
        );
        // Loki: nothing names the writer; the wrapped line's header will
        assert_eq!(
            h(r#"{"labels":{"host":"a"},"line":"Mar 14 08:02:11 a kernel: x","timestamp":"2026-03-14T08:02:11Z"}"#)
                .writer,
            Writer::Untagged
        );
        assert!(journal_line(br#"{"level":"info","details":{"message":"x"}}"#).is_err());
        // Google Cloud Logging (GKE): the journal entry is the jsonPayload
        let g = journal_line(br#"{"insertId":"a","jsonPayload":{"_TRANSPORT":"kernel","MESSAGE":"m","_HOSTNAME":"gke-n1"},"timestamp":"2026-03-14T08:02:11.5Z"}"#).unwrap();
        assert_eq!(
            (g.message.as_slice(), g.header.writer, g.header.timestamp.as_deref(), g.header.host.as_deref()),
            (&b"m"[..], Writer::Kernel, Some("2026-03-14T08:02:11.5Z"), Some("gke-n1"))
        );
    }
}
