//! The one error type of the library. Bindings map each variant to their own idiom
//! (`ValueError` for [`Error::InvalidArgument`] in Python, exit code 2 in the CLI).

use std::path::PathBuf;

/// Result with gpuguard's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in gpuguard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller passed a value outside the function's domain; `name` is the argument.
    #[error("invalid argument `{name}`: {message}")]
    InvalidArgument {
        /// The argument's name, as the function documents it.
        name: &'static str,
        /// What is wrong with it, with the value.
        message: String,
    },
    /// An input could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An input was read but is not valid (bad YAML, a malformed record).
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The input's name (a path, `<stdin>` or `<string>`).
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The checkpoint store could not do its job in a directory (disk full, read-only, locked by
    /// another writer); the message says what, with the numbers.
    #[error("{}: {message}", path.display())]
    Store {
        /// The store's directory (or the checkpoint in it).
        path: PathBuf,
        /// What went wrong and what is still intact.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    ///
    /// ```
    /// let e = gpuguard::Error::invalid("num_workers", "must be at most 1024, got 5000");
    /// assert_eq!(e.to_string(), "invalid argument `num_workers`: must be at most 1024, got 5000");
    /// ```
    pub fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument { name, message: message.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// Checks that a float argument is finite and `>= 0` (or `> 0` when `positive`).
pub(crate) fn check_non_negative(name: &'static str, value: f64, positive: bool) -> Result<f64> {
    if !value.is_finite() {
        return Err(Error::invalid(name, format!("must be a finite number, got {value}")));
    }
    if positive && value <= 0.0 {
        return Err(Error::invalid(name, format!("must be greater than 0, got {value}")));
    }
    if value < 0.0 {
        return Err(Error::invalid(name, format!("must not be negative, got {value}")));
    }
    Ok(value)
}
