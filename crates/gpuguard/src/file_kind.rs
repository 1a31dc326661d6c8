//! What a path is when it is not a regular file, in the words every skip note and error uses
//! (the XID scanner, the linter's directory walk, the doctor's reads under `--root`, the agent's
//! log follower): one wording, so a user sees the same reason wherever gpuguard refuses a path.

use std::fs::FileType;
use std::os::unix::fs::FileTypeExt;

/// `"a FIFO"`, `"a socket"`, `"a character device"`, `"a block device"`, `"a directory"`,
/// `"a symlink"`, or `"not a regular file"` for a regular file or anything else.
///
/// ```
/// let t = std::fs::metadata("/").unwrap().file_type();
/// assert_eq!(gpuguard::file_kind(&t), "a directory");
/// let t = std::fs::metadata("/dev/null").unwrap().file_type();
/// assert_eq!(gpuguard::file_kind(&t), "a character device");
/// ```
pub fn file_kind(t: &FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "not a regular file"
    }
}
