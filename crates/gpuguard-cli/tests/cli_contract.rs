//! The command line's shared contract, run through the real binary: byte sizes read the same way
//! everywhere and echoed, `--format`/`--json`/`--fail-on` on every reporting command, clear
//! messages for negative numbers, `explain` with several topics, and shell completions that the
//! real shells accept.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_gpuguard");

fn gpuguard(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("NO_COLOR", "1").stdin(Stdio::null()).output().expect("run gpuguard")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
}

fn shm_json(batch: &str) -> serde_json::Value {
    let o = gpuguard(&["shm", "--workers", "16", "--batch-bytes", batch, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{batch}: {}", stderr(&o));
    json(&o)
}

#[test]
fn docker_512m_is_512_mib_not_milli() {
    // The case: 16 workers of 512m batches need about 26Gi, not 1Gi.
    let docker = shm_json("512m");
    let kube = shm_json("512Mi");
    assert_eq!(docker["recommendation"], kube["recommendation"]);
    assert_eq!(docker["summary"]["size_limit"], "26Gi");
    assert_eq!(docker["summary"]["docker_shm_size"], "26g");
    assert_eq!(docker["inputs"]["batch_bytes"]["bytes"], 512u64 << 20);
    assert_eq!(docker["inputs"]["batch_bytes"]["convention"], "docker");
    let text = stdout(&gpuguard(&["shm", "--workers", "16", "--batch-bytes", "512m"]));
    assert!(
        text.contains("512m read as 512 MiB = 536870912 bytes (Docker's m; Kubernetes' m would be milli)"),
        "{text}"
    );
    assert!(text.contains("--shm-size=26g"), "{text}");
}

#[test]
fn every_ambiguous_form_is_read_and_echoed() {
    for (form, bytes, convention) in [
        ("64Mi", 64u64 << 20, "binary"),
        ("64MiB", 64 << 20, "binary"),
        ("64M", 64_000_000, "decimal"),
        ("64MB", 64_000_000, "decimal"),
        ("64m", 64 << 20, "docker"),
        ("64mb", 64 << 20, "docker"),
        ("2g", 2 << 30, "docker"),
        ("1.5GiB", 3 << 29, "binary"),
        ("67108864", 64 << 20, "bytes"),
    ] {
        let v = shm_json(form);
        assert_eq!(v["inputs"]["batch_bytes"]["bytes"], bytes, "{form}");
        assert_eq!(v["inputs"]["batch_bytes"]["convention"], convention, "{form}");
        assert!(
            v["inputs"]["batch_bytes"]["read_as"].as_str().is_some_and(|r| r.contains(&bytes.to_string())),
            "{form}"
        );
    }
    // Not a whole number of bytes: exit 2, saying how it was read.
    let o = gpuguard(&["shm", "--workers", "2", "--batch-bytes", "1.3Ki"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("1.3Ki read as 1.3 KiB is 1331.2 bytes, not a whole number of bytes"),
        "{}",
        stderr(&o)
    );
    let o = gpuguard(&["shm", "--workers", "2", "--batch-bytes", "64Mb"]);
    assert!(o.status.code() == Some(2) && stderr(&o).contains("bits"), "{}", stderr(&o));
}

#[test]
fn memory_limit_that_cannot_hold_the_size_fails_on_error() {
    let args = ["shm", "--workers", "8", "--batch-bytes", "256Mi", "--memory-limit", "4g"];
    let o = gpuguard(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("memory limit: 4g read as 4 GiB"), "{}", stdout(&o));
    assert!(stdout(&o).contains("error[GG001] the memory limit 4g"), "{}", stdout(&o));
    let o = gpuguard(&[&args[..], &["--fail-on", "never"]].concat());
    assert_eq!(o.status.code(), Some(0));
}

/// Each reporting command with arguments that make it run without a GPU or network.
fn reporting_commands(dir: &std::path::Path) -> Vec<Vec<String>> {
    let manifest = dir.join("pod.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: t\n    resources: {limits: {nvidia.com/gpu: 1}}\n",
    )
    .expect("write the manifest");
    let log = dir.join("kern.log");
    std::fs::write(&log, "[ 5.0] NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus.\n")
        .expect("write the log");
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let path = |p: &std::path::Path| p.to_str().expect("a UTF-8 temporary path").to_owned();
    let (manifest, log, dir) = (path(&manifest), path(&log), path(dir));
    vec![
        s(&["shm", "--workers", "2", "--batch-bytes", "8Mi"]),
        s(&[
            "checkpoint",
            "--hourly-cost",
            "32",
            "--run-hours",
            "70",
            "--checkpoint-seconds",
            "120",
            "--interruption-rate",
            "0.05",
        ]),
        s(&["lint", &manifest]),
        s(&["xid", &log]),
        s(&["doctor", "--root", &dir]),
    ]
}

#[test]
fn every_reporting_command_takes_format_fail_on_and_hidden_json() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in reporting_commands(dir.path()) {
        let name = cmd[0].clone();
        let run = |extra: &[&str]| {
            let args: Vec<&str> = cmd.iter().map(String::as_str).chain(extra.iter().copied()).collect();
            gpuguard(&args)
        };
        for format in ["text", "json", "markdown"] {
            let o = run(&["--format", format, "--fail-on", "never"]);
            assert_eq!(o.status.code(), Some(0), "{name} --format {format}: {}", stderr(&o));
            assert!(!o.stdout.is_empty(), "{name} --format {format}");
            if format == "markdown" {
                assert!(stdout(&o).contains("## ") || stdout(&o).contains('|'), "{name}: {}", stdout(&o));
            }
        }
        let v = json(&run(&["--format", "json", "--fail-on", "never"]));
        assert_eq!(v["schema"], 1, "{name}");
        assert!(v["errors"].is_array() && v["summary"].is_object(), "{name}: {v}");
        // --json is the same as --format json, and hidden from --help.
        assert_eq!(
            stdout(&run(&["--json", "--fail-on", "never"])),
            stdout(&run(&["--format", "json", "--fail-on", "never"])),
            "{name}"
        );
        let help = stdout(&gpuguard(&[name.as_str(), "--help"]));
        assert!(help.contains("--format") && help.contains("--fail-on"), "{name}: {help}");
        assert!(!help.contains("--json"), "{name}: --json should be hidden");
        // A format the command does not print is a usage error naming the ones it does.
        let o = run(&["--format", "yaml"]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(stderr(&o).contains("possible values: text, json, markdown"), "{name}: {}", stderr(&o));
    }
    // The extra formats where they apply.
    let help = |c: &str| stdout(&gpuguard(&[c, "--help"]));
    assert!(help("lint").contains("sarif") && !help("lint").contains("prometheus"));
    assert!(help("xid").contains("prometheus") && !help("xid").contains("sarif"));
    assert!(help("doctor").contains("prometheus") && help("doctor").contains("sarif"));
    assert!(!help("shm").contains("sarif") && !help("shm").contains("prometheus"));
}

#[test]
fn xid_fails_on_the_level_asked() {
    let dir = tempfile::tempdir().unwrap();
    let xid = &reporting_commands(dir.path())[3];
    let args: Vec<&str> = xid.iter().map(String::as_str).collect();
    assert_eq!(gpuguard(&args).status.code(), Some(1), "XID 79 is an error");
    assert_eq!(gpuguard(&[&args[..], &["--fail-on", "never"]].concat()).status.code(), Some(0));
}

#[test]
fn zeros_are_answered_or_refused_clearly() {
    // A batch of 0 bytes or a memory limit of 0 is a typo, with or without workers: exit 2 naming it.
    for (args, says) in [
        (&["shm", "--workers", "4", "--batch-bytes", "0"][..], "`--batch-bytes`: must be at least 1 byte, got 0"),
        (&["shm", "--workers", "0", "--batch-bytes", "0"][..], "`--batch-bytes`: must be at least 1 byte, got 0"),
        (&["shm", "--workers", "4", "--batch-bytes", "8Mi", "--memory-limit", "0"][..], "`--memory-limit`"),
        (&["shm", "--workers", "4", "--batch-bytes", "8Mi", "--prefetch-factor", "0"][..], "`--prefetch-factor`"),
        (&["doctor", "--root", "/nonexistent", "--dataloader-workers", "2", "--batch-bytes", "0"][..], "`batch_bytes`"),
        (
            &[
                "doctor",
                "--root",
                "/nonexistent",
                "--dataloader-workers",
                "2",
                "--batch-bytes",
                "8Mi",
                "--prefetch-factor",
                "0",
            ][..],
            "`prefetch_factor`",
        ),
    ] {
        let o = gpuguard(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}: no answer after an input error: {}", stdout(&o));
    }
    // 0 workers is a real answer: the main process loads, nothing of the data goes through /dev/shm.
    // prefetch_factor does not apply then (PyTorch wants it unset), so 0 is not an error either.
    for prefetch in ["2", "0"] {
        let o = gpuguard(&[
            "shm",
            "--workers",
            "0",
            "--batch-bytes",
            "8Mi",
            "--prefetch-factor",
            prefetch,
            "--format",
            "json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        assert_eq!(v["recommendation"]["required_bytes"], 0);
        assert!(v["recommendation"]["reasoning"].as_str().is_some_and(|r| r.contains("main process")), "{v}");
    }
}

#[test]
fn negative_numbers_get_a_clear_message() {
    for (args, says) in [
        (&["shm", "--workers", "-1", "--batch-bytes", "8Mi"][..], "-1 is negative; give a whole number, 0 or more"),
        (&["shm", "--workers", "2", "--batch-bytes", "-8Mi"][..], "negative"),
        (&["shm", "--workers", "2.5", "--batch-bytes", "8Mi"][..], "not a whole number"),
        (
            &[
                "checkpoint",
                "--hourly-cost",
                "-32",
                "--run-hours",
                "1",
                "--checkpoint-seconds",
                "1",
                "--interruption-rate",
                "0",
            ][..],
            "invalid `--hourly-cost`: must not be negative, got -32",
        ),
        (
            &[
                "checkpoint",
                "--hourly-cost",
                "1",
                "--run-hours",
                "1",
                "--checkpoint-seconds",
                "1",
                "--interruption-rate",
                "0",
                "--nodes",
                "-4",
            ][..],
            "-4 is negative",
        ),
        (&["doctor", "--expect-gpus", "-1"][..], "--expect-gpus <EXPECT_GPUS> takes a number 0 or more, not -1"),
        (&["xid", "--ecc-rate-threshold", "-5", "/dev/null"][..], "--ecc-rate-threshold must be a number >= 0"),
    ] {
        let o = gpuguard(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
    }
}

#[test]
fn explain_takes_several_topics_and_lists_with_none() {
    let o = gpuguard(&["explain", "GG001", "gpu-node-taint", "xid", "48", "79"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for part in ["GG001 dev-shm", "GG002 gpu-node-taint", "XID 48:", "XID 79:"] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let v = json(&gpuguard(&["explain", "GG001", "GG007", "xid", "48", "--format", "json"]));
    assert_eq!(v["summary"], serde_json::json!({"footguns": 2, "xids": 1}));
    let list = stdout(&gpuguard(&["explain"]));
    assert_eq!(list.lines().filter(|l| l.starts_with("GG0")).count(), 10, "{list}");
    // An unknown topic is named, the known ones are still explained, and the exit code is 2.
    let o = gpuguard(&["explain", "GG001", "GG042"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("GG042") && stdout(&o).contains("GG001 dev-shm"));
    // `xid` with a word that is not a code is an error, not the whole catalog; before a rule it lists.
    let o = gpuguard(&["explain", "xid", "abc"]);
    assert_eq!((o.status.code(), stdout(&o).is_empty()), (Some(2), true), "{}", stdout(&o));
    let o = gpuguard(&["explain", "xid", "GG001"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("GG001 dev-shm") && stdout(&o).contains(" 48 "), "{}", stdout(&o));
}

fn completion(shell: &str) -> String {
    let o = gpuguard(&["completions", shell]);
    assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
    stdout(&o)
}

/// Whether `shell` is installed; says so when not (CI installs bash, zsh and fish).
fn have(shell: &str) -> bool {
    let ok = Command::new(shell).arg("-c").arg("true").status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped {shell}: not installed (.ci/run installs it)");
    }
    ok
}

#[test]
fn bash_completion_parses_and_completes_subcommands_and_formats() {
    let script = completion("bash");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(file.path()).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    // Ask the completion function what `gpuguard ex<TAB>` and `gpuguard lint --format <TAB>` give.
    let ask = |words: &str, cword: usize| {
        let driver = format!(
            "source {}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE=\"{words}\"\nCOMP_POINT=${{#COMP_LINE}}\n_gpuguard gpuguard \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            file.path().display()
        );
        let o = Command::new("bash").arg("-c").arg(driver).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let sub = ask("gpuguard ex", 1);
    assert!(sub.lines().any(|l| l == "explain"), "{sub}");
    let formats = ask("gpuguard lint --format ''", 3);
    assert!(formats.lines().any(|l| l == "sarif"), "{formats}");
}

#[test]
fn zsh_and_fish_completions_parse() {
    for (shell, check) in [("zsh", vec!["-n"]), ("fish", vec!["--no-execute"])] {
        let script = completion(shell);
        assert!(script.contains("explain") && script.contains("completions"), "{shell}");
        if !have(shell) {
            continue;
        }
        let mut child = Command::new(shell).args(&check).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{shell}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = gpuguard(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn errors_name_the_command_flags_not_the_library_arguments() {
    // The core names arguments as Rust and Python do (`num_workers`); a CLI user typed `--workers`.
    let plan = ["checkpoint", "--run-hours", "1", "--checkpoint-seconds", "1", "--interruption-rate", "0.1"];
    for (args, flag, library_name) in [
        (vec!["shm", "--workers", "100000", "--batch-bytes", "8Mi"], "`--workers`", "num_workers`"),
        (
            vec!["shm", "--workers", "2", "--batch-bytes", "8Mi", "--prefetch-factor", "0"],
            "`--prefetch-factor`",
            "`prefetch_factor`",
        ),
        (vec!["shm", "--workers", "2", "--batch-bytes", "8Mi", "--loaders", "0"], "`--loaders`", "`loaders`"),
        ([&plan[..], &["--hourly-cost", "-5"]].concat(), "`--hourly-cost`", "hourly_gpu_cost"),
        ([&plan[..], &["--hourly-cost", "5", "--period-hours", "0"]].concat(), "`--period-hours`", "period_hours"),
        (
            [&plan[..], &["--hourly-cost", "5", "--current-interval-seconds=-1"]].concat(),
            "`--current-interval-seconds`",
            "interval_seconds`",
        ),
    ] {
        let o = gpuguard(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&format!("invalid {flag}: ")), "{args:?}: {err}");
        assert!(!err.contains(library_name), "{args:?} names the library argument: {err}");
    }
}

#[test]
fn checkpoint_text_reads_like_the_other_commands() {
    // A 128-node run checkpointing far too rarely: a GG003 warning and millions of dollars.
    let o = gpuguard(&[
        "checkpoint",
        "--hourly-cost",
        "32000",
        "--run-hours",
        "700",
        "--checkpoint-seconds",
        "120",
        "--interruption-rate",
        "0.1",
        "--nodes",
        "128",
        "--current-interval-seconds",
        "60000",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    // The shared text renderer's form, as lint, doctor and xid print it.
    assert!(out.contains("\nwarning[GG003] checkpointing every 60000 s"), "{out}");
    assert!(!out.contains("warning GG003"), "{out}");
    // Every dollar amount is grouped by thousands.
    let amounts: Vec<&str> = out
        .split('$')
        .skip(1)
        .map(|s| s.split(|c: char| !(c.is_ascii_digit() || c == ',')).next().unwrap_or(""))
        .collect();
    assert!(amounts.len() >= 2 && amounts.iter().any(|a| a.len() > 9), "{out}");
    for a in amounts {
        assert!(
            a.split(',').skip(1).all(|g| g.len() == 3)
                && a.split(',').next().is_some_and(|g| (1..=3).contains(&g.len())),
            "${a} in {out}"
        );
    }
}

/// `gpuguard lint` fed `cmd_stdin` on a real pipe, with `args`.
#[allow(clippy::unwrap_used)]
fn lint_piped(args: &[&str], cmd_stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .arg("lint")
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(cmd_stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// A failed `helm template . | gpuguard lint -` gives empty stdin: that is an input error naming
/// what was read, never a green `0 error(s)`. Same for an empty or binary file, and for no
/// arguments with stdin not a terminal (CI).
#[test]
#[allow(clippy::unwrap_used)]
fn lint_with_no_object_is_an_input_error() {
    for args in [&["-"][..], &[][..]] {
        let o = lint_piped(args, b"");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(stdout(&o).contains("read 0 objects from <stdin>: empty input"), "{}", stdout(&o));
    }
    let o = gpuguard(&["lint", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let dir = tempfile::tempdir().unwrap();
    let (empty, bin, utf) = (dir.path().join("e.yaml"), dir.path().join("b.yaml"), dir.path().join("u.yaml"));
    std::fs::write(&empty, "").unwrap();
    std::fs::write(&bin, std::fs::read(BIN).unwrap().get(..4096).unwrap()).unwrap();
    std::fs::write(&utf, [0xff, 0xfe, b'a', 0x80, b'\n']).unwrap();
    for (p, what) in [(&empty, "empty input"), (&bin, "not YAML or JSON (binary"), (&utf, "not YAML or JSON (binary")] {
        let o = gpuguard(&["lint", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        let want = format!("read 0 objects from {}: {what}", p.display());
        assert!(stdout(&o).contains(&want), "{want}: {}", stdout(&o));
    }
    // A binary file next to a good manifest is still an input error naming it.
    let o = lint_piped(&["-", bin.to_str().unwrap()], b"kind: Node\nmetadata: {name: n}\n");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).contains(&format!("{}: read 0 objects", bin.display())), "{}", stdout(&o));
    // A directory with a valid manifest and one empty file: the empty file is only noted.
    std::fs::remove_file(&bin).unwrap();
    std::fs::remove_file(&utf).unwrap();
    std::fs::write(dir.path().join("pod.yaml"), "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n---\nkind: Node\nmetadata: {name: n}\n").unwrap();
    let o = gpuguard(&["lint", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(text.contains("lint: 2 object(s) in 2 input(s): 0 error(s)"), "{text}");
    assert!(text.contains(&format!("input skipped: read 0 objects from {}: empty input", empty.display())), "{text}");
    let v = json(&gpuguard(&["lint", dir.path().to_str().unwrap(), "--format", "json"]));
    assert_eq!((v["summary"]["objects"].as_u64(), v["summary"]["inputs"].as_u64()), (Some(2), Some(2)), "{v}");
    assert_eq!(v["summary"]["input_errors"], 0);
}

/// Findings silenced by an ignore annotation are counted in the text summary and listed in JSON.
#[test]
#[allow(clippy::unwrap_used)]
fn lint_counts_and_lists_suppressed_findings() {
    let pod = b"kind: Pod\nmetadata:\n  name: p\n  annotations: {ignore-check.gpuguard.io/GG007: \"fixed in the chart\"}\nspec:\n  containers: [{name: c, image: t, resources: {requests: {nvidia.com/gpu: 1}}}]\n";
    let o = lint_piped(&["-"], pod);
    assert!(stdout(&o).contains("1 finding(s) suppressed by ignore-check.gpuguard.io annotations"), "{}", stdout(&o));
    let v = json(&lint_piped(&["-", "--format", "json"], pod));
    assert_eq!(v["suppressed"][0]["rule"], "GG007", "{v}");
    assert_eq!(v["suppressed"][0]["evidence"]["justification"], "fixed in the chart");
}

/// `--max-file-bytes` reads units like every size flag: `1k` caps a 2 KiB manifest.
#[test]
#[allow(clippy::unwrap_used)]
fn lint_max_file_bytes_takes_units() {
    let mut big = b"kind: Node\nmetadata: {name: n}\n".to_vec();
    big.extend(std::iter::repeat_n(b'#', 2048));
    let o = lint_piped(&["--max-file-bytes", "1k", "-"], &big);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("cap"), "{}", stdout(&o));
    assert_eq!(lint_piped(&["--max-file-bytes", "1Mi", "-"], &big).status.code(), Some(0));
}
