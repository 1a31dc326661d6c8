// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use super::*;

fn save(store: &CheckpointStore, step: u64) -> Checkpoint {
    store
        .save(step, |p| {
            fs::create_dir(p.join("optim"))?;
            fs::write(p.join("model.bin"), vec![step as u8; 3000])?;
            fs::write(p.join("optim/state.bin"), step.to_le_bytes())
        })
        .unwrap()
}

fn steps(store: &CheckpointStore) -> Vec<(u64, Status)> {
    store.list().unwrap().iter().map(|c| (c.step, c.status)).collect()
}

#[test]
fn keeps_the_newest_and_records_every_file() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 3).unwrap();
    for step in 1..=5 {
        save(&s, step);
    }
    assert_eq!(steps(&s), [(3, Status::Ok), (4, Status::Ok), (5, Status::Ok)]);
    let l = s.latest().unwrap().unwrap();
    let names: Vec<_> = l.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names, ["model.bin", "optim/state.bin"]);
    assert_eq!(l.total_bytes, 3008);
    assert!(l.path.ends_with("step-0000000005"));
}

#[test]
fn never_prunes_an_older_good_one_while_newer_ones_are_corrupt() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 2).unwrap();
    save(&s, 1);
    save(&s, 2);
    drop(s);
    // Step 2 rots on disk; a fresh writer does not trust its memory of it.
    let two = d.path().join("step-0000000002/model.bin");
    let mut bytes = fs::read(&two).unwrap();
    bytes[17] ^= 0x10;
    fs::write(&two, bytes).unwrap();
    let s = CheckpointStore::open(d.path(), 2).unwrap();
    save(&s, 3);
    // Good ones: 3 and 1 are the newest two that verify, so 1 stays; corrupt 2 is kept to inspect.
    assert_eq!(steps(&s), [(1, Status::Ok), (2, Status::Corrupt), (3, Status::Ok)]);
    // Once two newer ones verify, everything older goes, the corrupt one included.
    save(&s, 4);
    assert_eq!(steps(&s), [(3, Status::Ok), (4, Status::Ok)]);
    save(&s, 5);
    assert_eq!(steps(&s), [(4, Status::Ok), (5, Status::Ok)]);
}

#[test]
fn a_corrupt_step_is_replaced_by_a_new_save_of_it() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 3).unwrap();
    let c = save(&s, 7);
    fs::remove_file(c.path.join("optim/state.bin")).unwrap();
    let v = verify_checkpoint(&c.path, 7);
    assert_eq!(v.reason.as_deref(), Some("optim/state.bin: missing"));
    drop(s);
    let s = CheckpointStore::open(d.path(), 3).unwrap();
    save(&s, 7);
    assert_eq!(steps(&s), [(7, Status::Ok)]);
}

#[test]
fn detects_extra_files_foreign_dirs_and_bad_manifests() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 5).unwrap();
    let a = save(&s, 1);
    fs::write(a.path.join("late.txt"), b"x").unwrap();
    assert!(verify_checkpoint(&a.path, 1).reason.unwrap().contains("late.txt: not in the manifest"));
    let b = save(&s, 2);
    fs::write(b.path.join(MANIFEST_NAME), b"{").unwrap();
    assert_eq!(verify_checkpoint(&b.path, 2).status, Status::Corrupt);
    fs::create_dir(d.path().join("step-0000000009")).unwrap();
    assert_eq!(verify_checkpoint(&d.path().join("step-0000000009"), 9).status, Status::Partial);
    let c = save(&s, 3);
    fs::rename(&c.path, d.path().join("step-0000000004")).unwrap();
    assert!(verify_checkpoint(&d.path().join("step-0000000004"), 4).reason.unwrap().contains("for step 3"));
    assert!(s.latest().unwrap().is_none());
}

#[test]
fn temp_data_is_cleaned_on_open_and_an_aborted_save_publishes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 3).unwrap();
    let p = s.begin(1).unwrap();
    fs::write(p.path().join("half.bin"), b"half").unwrap();
    std::mem::forget(p); // like a SIGKILL: no destructor runs
    drop(s);
    let ro = CheckpointStore::open_read_only(d.path(), 3).unwrap();
    assert_eq!(steps(&ro), [(1, Status::Partial)]);
    let s = CheckpointStore::open(d.path(), 3).unwrap();
    assert_eq!(s.cleaned_up().len(), 1);
    assert!(steps(&s).is_empty());
    assert!(s.latest().unwrap().is_none());
}

#[test]
fn rejects_symlinks_and_the_reserved_name() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 3).unwrap();
    let e = s.save(1, |p| std::os::unix::fs::symlink("/etc/hostname", p.join("l"))).unwrap_err();
    assert!(e.to_string().contains("symlinks"), "{e}");
    let e = s.save(1, |p| fs::write(p.join(MANIFEST_NAME), b"{}")).unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
    assert!(
        fs::read_dir(d.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(TEMP_PREFIX))
    );
}

#[test]
fn due_needs_an_interval_and_reads_the_newest_manifest() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 3).unwrap();
    assert!(s.due(Some(1), None).unwrap_err().to_string().contains("every_steps"));
    save(&s, 40);
    drop(s);
    let s = CheckpointStore::open(d.path(), 3)
        .unwrap()
        .with_interval(Interval { every_steps: Some(10), every_seconds: None });
    assert!(s.due(None, None).is_err());
    assert!(!s.due(Some(49), None).unwrap());
    assert!(s.due(Some(50), None).unwrap());
}

#[test]
fn reopening_while_a_prune_thread_deletes_is_fine() {
    let d = tempfile::tempdir().unwrap();
    for round in 0..8u64 {
        let s = CheckpointStore::open(d.path(), 1).unwrap();
        for step in round * 3..round * 3 + 3 {
            s.save(step, |p| {
                fs::create_dir_all(p.join("a/b/c"))?;
                (0..10).try_for_each(|i| fs::write(p.join(format!("a/b/c/{i}")), b"x"))
            })
            .unwrap();
        }
    }
    let s = CheckpointStore::open(d.path(), 1).unwrap();
    assert_eq!(steps(&s), [(23, Status::Ok)]);
}

#[test]
fn a_fifo_device_or_symlink_manifest_is_corrupt_not_read_or_waited_on() {
    let d = tempfile::tempdir().unwrap();
    let s = CheckpointStore::open(d.path(), 5).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("manifest.json");
    for step in 1..=3 {
        let c = save(&s, step);
        fs::copy(c.path.join(MANIFEST_NAME), &secret).unwrap();
        fs::remove_file(c.path.join(MANIFEST_NAME)).unwrap();
        let m = c.path.join(MANIFEST_NAME);
        let (kind, ok) = match step {
            // A FIFO with no writer: a blocking open would hang latest() forever.
            1 => ("FIFO", {
                let p = std::ffi::CString::new(m.to_str().unwrap()).unwrap();
                // SAFETY: a valid NUL-terminated path.
                unsafe { libc::mkfifo(p.as_ptr(), 0o600) == 0 }
            }),
            2 => ("symlink", std::os::unix::fs::symlink(&secret, &m).is_ok()),
            _ => ("device", std::os::unix::fs::symlink("/dev/zero", &m).is_ok()),
        };
        assert!(ok, "{kind}");
    }
    // A symlinked step directory pointing outside is not a checkpoint of this store.
    std::os::unix::fs::symlink(outside.path(), d.path().join("step-0000000009")).unwrap();
    let all = s.list().unwrap();
    assert_eq!(
        all.iter().map(|c| (c.step, c.status)).collect::<Vec<_>>(),
        [(1, Status::Corrupt), (2, Status::Corrupt), (3, Status::Corrupt)]
    );
    assert!(all[0].reason.as_deref().unwrap().contains("not a regular file"), "{:?}", all[0].reason);
    assert!(all[1].reason.as_deref().unwrap().contains("symlink"), "{:?}", all[1].reason);
    assert!(s.latest().unwrap().is_none());
    assert!(s.get(9, true).unwrap().is_none());
}

#[test]
fn readers_and_a_writer_on_threads_share_one_store() {
    let d = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(CheckpointStore::open(d.path(), 2).unwrap());
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || (0..40).for_each(|step| drop(save(&s, step))))
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    if let Some(c) = s.latest().unwrap() {
                        assert_eq!(c.status, Status::Ok);
                    }
                }
            })
        })
        .collect();
    writer.join().unwrap();
    readers.into_iter().for_each(|r| r.join().unwrap());
    assert_eq!(steps(&s), [(38, Status::Ok), (39, Status::Ok)]);
}
