//! APT's configuration syntax (apt.conf(5)) and its preferences files (apt_preferences(5)), as
//! far as the automatic-update check needs them: scalar options, lists, and pins.

use super::Host;
use super::driver::list_dir;
use std::collections::BTreeMap;

/// APT options: lower-cased full names (`apt::periodic::unattended-upgrade`) to their values; a
/// list option (`Unattended-Upgrade::Package-Blacklist { "linux-"; };`) holds every item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AptConf {
    /// Option values, later files and lines appended after earlier ones.
    pub values: BTreeMap<String, Vec<String>>,
    /// Where each option was last set (file).
    pub set_in: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq)]
enum Tok<'a> {
    Word(&'a str),
    Str(&'a str),
    Open,
    Close,
    Semi,
}

fn tokens(text: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        // `#clear`/`#include` directives and `#`/`//` comments.
        if t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        let mut rest = t;
        while let Some(c) = rest.chars().next() {
            match c {
                c if c.is_whitespace() => rest = &rest[c.len_utf8()..],
                '{' | '}' | ';' => {
                    out.push(match c {
                        '{' => Tok::Open,
                        '}' => Tok::Close,
                        _ => Tok::Semi,
                    });
                    rest = &rest[1..];
                }
                '"' => {
                    let end = rest[1..].find('"').map_or(rest.len(), |i| i + 1);
                    out.push(Tok::Str(&rest[1..end]));
                    rest = rest.get(end + 1..).unwrap_or("");
                }
                '/' if rest.starts_with("//") => break,
                _ => {
                    let end = rest.find(|c: char| c.is_whitespace() || "{};\"".contains(c)).unwrap_or(rest.len());
                    out.push(Tok::Word(&rest[..end]));
                    rest = &rest[end..];
                }
            }
        }
    }
    out
}

impl AptConf {
    /// Adds the options of one file, in apt.conf syntax (`A::B "v";`, `A { B "v"; };`, lists of
    /// bare strings inside braces, `//` and `#` comments).
    ///
    /// ```
    /// let mut c = gpuguard::probe::apt_conf::AptConf::default();
    /// c.add("20auto-upgrades", "APT::Periodic::Unattended-Upgrade \"1\";\nUnattended-Upgrade::Package-Blacklist {\n    \"linux-\";  // kernels\n};\n");
    /// assert_eq!(c.get("APT::Periodic::Unattended-Upgrade"), Some("1"));
    /// assert_eq!(c.list("Unattended-Upgrade::Package-Blacklist"), ["linux-"]);
    /// ```
    pub fn add(&mut self, file: &str, text: &str) {
        let mut scope: Vec<String> = Vec::new();
        let toks = tokens(text);
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Tok::Word(k) => {
                    let key = join(&scope, k);
                    match toks.get(i + 1) {
                        Some(Tok::Str(v)) => {
                            self.set(&key, v, file);
                            i += 2;
                        }
                        Some(Tok::Open) => {
                            scope.push(key);
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                // A bare string in braces: a list item of the enclosing option.
                Tok::Str(v) => {
                    if let Some(key) = scope.last().cloned() {
                        self.values.entry(key.clone()).or_default().push((*v).to_owned());
                        self.set_in.insert(key, file.to_owned());
                    }
                    i += 1;
                }
                Tok::Close => {
                    scope.pop();
                    i += 1;
                }
                Tok::Open | Tok::Semi => i += 1,
            }
        }
    }

    fn set(&mut self, key: &str, v: &str, file: &str) {
        self.values.insert(key.to_owned(), vec![v.to_owned()]);
        self.set_in.insert(key.to_owned(), file.to_owned());
    }

    /// A scalar option (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(&name.to_ascii_lowercase())?.last().map(String::as_str)
    }

    /// A list option's items.
    pub fn list(&self, name: &str) -> &[String] {
        self.values.get(&name.to_ascii_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// Reads `/etc/apt/apt.conf.d/*` in the order APT does (by name, skipping names APT ignores)
    /// and then `/etc/apt/apt.conf`. Unreadable files are named in the second value.
    pub fn read(host: &Host) -> (AptConf, Vec<String>) {
        let mut c = AptConf::default();
        let mut skipped = Vec::new();
        let mut files: Vec<String> = list_dir(&host.path("/etc/apt/apt.conf.d"))
            .into_iter()
            // apt.conf(5): only letters, digits, `_`, `-` and `.`; `.conf` or no extension.
            .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)))
            .filter(|f| !f.contains('.') || f.ends_with(".conf"))
            .map(|f| format!("/etc/apt/apt.conf.d/{f}"))
            .collect();
        files.push("/etc/apt/apt.conf".into());
        for f in files {
            match host.read(&f) {
                Ok(t) => c.add(&f, &t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => skipped.push(format!("skipped {f}: {e}")),
            }
        }
        (c, skipped)
    }
}

fn join(scope: &[String], k: &str) -> String {
    let k = k.to_ascii_lowercase();
    match scope.last() {
        Some(s) => format!("{s}::{k}"),
        None => k,
    }
}

/// One stanza of an APT preferences file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The file it came from.
    pub file: String,
    /// `Package:` patterns (names, globs, `/regex/`).
    pub packages: Vec<String>,
    /// `Pin:` (`version 6.8.0-49*`, `release a=noble-security`).
    pub pin: String,
    /// `Pin-Priority:`.
    pub priority: i64,
}

impl Pin {
    /// Whether the stanza keeps `package` from being upgraded: a negative priority (never
    /// install), or a `version` pin above the default 500 (that version stays the candidate).
    ///
    /// ```
    /// let p = gpuguard::probe::apt_conf::Pin { file: "f".into(), packages: vec!["linux-image-*".into()], pin: "version 6.8.0-49.49".into(), priority: 1001 };
    /// assert!(p.blocks("linux-image-generic"));
    /// assert!(!p.blocks("vim"));
    /// ```
    pub fn blocks(&self, package: &str) -> bool {
        let holds = self.priority < 0 || (self.pin.starts_with("version") && self.priority > 500);
        holds && self.packages.iter().any(|p| pattern_matches(p, package))
    }
}

/// An apt_preferences(5) package pattern: `/regex/`, a glob with `*`/`?`, or a name.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    let re = if let Some(r) = pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
        format!("^(?:{r})")
    } else if pattern.contains(['*', '?', '[']) {
        format!("^{}$", regex::escape(pattern).replace("\\*", ".*").replace("\\?", "."))
    } else {
        return pattern == name;
    };
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(name))
}

/// Reads `/etc/apt/preferences` and `/etc/apt/preferences.d/*` (no extension or `.pref`).
pub fn read_pins(host: &Host, skipped: &mut Vec<String>) -> Vec<Pin> {
    let mut files = vec!["/etc/apt/preferences".to_owned()];
    files.extend(
        list_dir(&host.path("/etc/apt/preferences.d"))
            .into_iter()
            .filter(|f| !f.contains('.') || f.ends_with(".pref"))
            .map(|f| format!("/etc/apt/preferences.d/{f}")),
    );
    let mut pins = Vec::new();
    for f in files {
        let text = match host.read(&f) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                skipped.push(format!("skipped {f}: {e}"));
                continue;
            }
        };
        for stanza in text.split("\n\n") {
            let field = |k: &str| {
                stanza.lines().find_map(|l| {
                    let (key, v) = l.split_once(':')?;
                    key.trim().eq_ignore_ascii_case(k).then(|| v.trim().to_owned())
                })
            };
            let (Some(p), Some(pin), Some(prio)) = (field("Package"), field("Pin"), field("Pin-Priority")) else {
                continue;
            };
            let Ok(priority) = prio.parse() else { continue };
            pins.push(Pin {
                file: f.clone(),
                packages: p.split_whitespace().map(str::to_owned).collect(),
                pin,
                priority,
            });
        }
    }
    pins
}

/// Whether an unattended-upgrades `Package-Blacklist` entry (a Python regular expression matched
/// at the start of the name, or a plain prefix in older releases) covers `package`.
///
/// ```
/// assert!(gpuguard::probe::apt_conf::blacklist_matches("linux-", "linux-image-generic"));
/// assert!(gpuguard::probe::apt_conf::blacklist_matches("nvidia-.*", "nvidia-driver-550"));
/// assert!(!gpuguard::probe::apt_conf::blacklist_matches("libc6$", "libc6-dev"));
/// ```
pub fn blacklist_matches(entry: &str, package: &str) -> bool {
    match regex::Regex::new(&format!("^(?:{entry})")) {
        Ok(r) => r.is_match(package),
        Err(_) => package.starts_with(entry),
    }
}
