//! `journalctl -o json` lines: one JSON object per line. The message is `MESSAGE` (a string, or an
//! array of bytes when it is not UTF-8), who wrote it is `_TRANSPORT` (`kernel` for the kernel's
//! ring buffer; `syslog`, `journal`, `stdout` for user space, named by `SYSLOG_IDENTIFIER`), and
//! when is `__REALTIME_TIMESTAMP` (microseconds since the Unix epoch).

use super::header::{Header, Writer, from_epoch_micros};
use serde_json::Value;

/// One journal entry's message and header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JournalLine {
    pub message: Vec<u8>,
    pub header: Header,
}

/// Whether `line` is a JSON object (after leading blanks): then it is read as a journal entry.
pub(crate) fn is_json(line: &[u8]) -> bool {
    line.trim_ascii_start().first() == Some(&b'{')
}

/// Reads one journal JSON line. `Err` names why it is not a readable entry.
pub(crate) fn journal_line(line: &[u8]) -> Result<JournalLine, &'static str> {
    let v: Value = serde_json::from_slice(line.trim_ascii()).map_err(|_| "a JSON line that is not a journal entry")?;
    let obj = v.as_object().ok_or("a JSON line that is not a journal entry")?;
    let message = match obj.get("MESSAGE") {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        // Not UTF-8: journalctl writes the bytes as numbers.
        Some(Value::Array(a)) if a.iter().all(Value::is_u64) => {
            a.iter().filter_map(Value::as_u64).map(|b| u8::try_from(b).unwrap_or(b'?')).collect()
        }
        _ => return Err("a journal entry without a MESSAGE"),
    };
    let field = |k: &str| obj.get(k).and_then(Value::as_str);
    let writer = match (field("_TRANSPORT"), field("SYSLOG_IDENTIFIER")) {
        (Some("kernel"), _) => Writer::Kernel,
        (Some(t), ident) => {
            Writer::Program(ident.or_else(|| field("_COMM")).map_or_else(|| format!("transport {t}"), str::to_owned))
        }
        (None, Some("kernel")) => Writer::Kernel,
        (None, Some(ident)) => Writer::Program(ident.to_owned()),
        (None, None) => Writer::Untagged,
    };
    let timestamp = field("__REALTIME_TIMESTAMP").and_then(|t| t.parse::<u64>().ok()).map(from_epoch_micros);
    let host = field("_HOSTNAME").map(str::to_owned);
    Ok(JournalLine { message, header: Header { timestamp, writer, host } })
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
}
