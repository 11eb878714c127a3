//! One error enum per operation, hand-written `Display` with a stable `store:` prefix.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why [`crate::Store::open`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// Another process (or another `Store` in this one) holds the directory's lock file.
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A file or directory could not be created, read, written or synced.
    Io {
        /// What was being accessed.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A write-ahead log file is damaged somewhere other than its tail: acknowledged events may be
    /// affected, so the store refuses to start rather than silently drop them.
    CorruptWal {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the first bad record (or header).
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The manifest (the list of live parts) fails its checksum: which parts hold the
    /// acknowledged events is unknown, so the store refuses to start.
    CorruptManifest {
        /// The manifest file.
        file: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Locked { path } => write!(
                f,
                "store: the data directory is in use by another seqr process (lock file {})",
                path.display()
            ),
            OpenError::Io { path, source } => {
                write!(f, "store: I/O error on {}: {source}", path.display())
            }
            OpenError::CorruptWal {
                file,
                offset,
                detail,
            } => write!(
                f,
                "store: write-ahead log {} is corrupt at byte {offset} ({detail}); \
                 it is not a torn tail, so acknowledged events may be affected: \
                 refusing to start (move the file aside to start without it)",
                file.display()
            ),
            OpenError::CorruptManifest { file, detail } => write!(
                f,
                "store: the manifest {} is corrupt ({detail}); refusing to start, because which \
                 parts hold the stored events is unknown (restore it from a backup)",
                file.display()
            ),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why an append was not acknowledged. Nothing in a failed append is visible to search.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendError {
    /// A write or fsync of the write-ahead log failed earlier (or now): the store refuses every
    /// append until it is reopened, because the OS may have dropped unsynced pages.
    Poisoned {
        /// The first failure.
        detail: String,
    },
    /// [`crate::Store::shutdown`] was called.
    ShuttingDown,
    /// The batch is too large for one log record.
    TooLarge {
        /// Encoded size of the batch.
        bytes: usize,
    },
    /// The volume has less free space than the minimum the store keeps (or a write ran out
    /// of space): nothing of this batch was stored, earlier batches are safe, and appends
    /// succeed again once space is freed.
    DiskFull {
        /// Free bytes on the volume when checked.
        free: u64,
        /// The minimum the store keeps free.
        minimum: u64,
    },
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::Poisoned { detail } => write!(
                f,
                "store: writes are refused after a failed write-ahead log write or fsync ({detail}); restart the server"
            ),
            AppendError::ShuttingDown => f.write_str("store: shutting down"),
            AppendError::TooLarge { bytes } => {
                write!(f, "store: batch of {bytes} encoded bytes is too large")
            }
            AppendError::DiskFull { free, minimum } => write!(
                f,
                "store: the volume has {free} bytes free, below the {minimum} bytes kept free; \
                 events are refused until space is freed"
            ),
        }
    }
}

impl std::error::Error for AppendError {}

/// Why a read (search or get) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Stored data failed its checksum or could not be decoded; it is never served.
    Corrupt {
        /// The file (or `memtable`).
        file: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A part file could not be read.
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Corrupt { file, detail } => {
                write!(f, "store: {} is corrupt: {detail}", file.display())
            }
            ReadError::Io { file, source } => {
                write!(f, "store: reading {} failed: {source}", file.display())
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why [`crate::Store::shutdown`] could not close cleanly. Acknowledged events are durable
/// regardless.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseError {
    /// The store was poisoned: some appends were refused.
    Poisoned {
        /// The first failure.
        detail: String,
    },
    /// A background thread panicked.
    ThreadPanicked {
        /// Which thread.
        thread: &'static str,
    },
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseError::Poisoned { detail } => {
                write!(f, "store: closed after a write failure ({detail})")
            }
            CloseError::ThreadPanicked { thread } => {
                write!(f, "store: the {thread} thread panicked")
            }
        }
    }
}

impl std::error::Error for CloseError {}
