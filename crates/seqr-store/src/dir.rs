//! The store's file-system abstraction: all of the store's file I/O goes through [`Dir`], so
//! tests can run it in memory ([`MemDir`]) and inject I/O errors and power loss ([`FaultyDir`]).
//!
//! Names are relative, `/`-separated paths inside the store directory
//! (`p-20260101/part-0000000000000005.part`); absolute paths, `.`, `..` and empty components
//! are rejected with [`io::ErrorKind::InvalidInput`]. `""` names the root, where a directory is
//! meant ([`Dir::list`], [`Dir::sync_dir`]).
//!
//! # Durability model
//! As on a POSIX file system: a file's *content* is durable as of its last successful
//! [`WriteFile::sync`]; an *entry* (a created file or directory, a rename's new name and the
//! disappearance of its old one, a removal) is durable only after [`Dir::sync_dir`] of the
//! directory holding the entry. So a new file needs `sync` and `sync_dir(parent)`, and a new
//! directory's own entry needs `sync_dir` of its parent. [`FaultyDir`] keeps both the current
//! and the durable view, and [`FaultyDir::power_loss`] returns what survives.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One entry of [`Dir::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
}

/// Free and total bytes of the volume holding the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    pub free: u64,
    pub total: u64,
}

/// The store directory. See the module docs for names and the durability model.
pub trait Dir: Send + Sync + 'static {
    /// Creates a new file (`AlreadyExists` if present) for writing; the parent must exist.
    fn create(&self, name: &str) -> io::Result<Box<dyn WriteFile>>;
    /// Opens an existing file for appending at its end (also after a [`Dir::truncate`]).
    fn open_append(&self, name: &str) -> io::Result<Box<dyn WriteFile>>;
    /// Opens an existing file for positional reads.
    fn open_read(&self, name: &str) -> io::Result<Arc<dyn ReadFile>>;
    /// Entries (files and directories) directly inside `dir` (`""` = the root), sorted by name.
    fn list(&self, dir: &str) -> io::Result<Vec<Entry>>;
    /// Creates a directory; Ok if it already exists.
    fn create_dir(&self, name: &str) -> io::Result<()>;
    /// Removes an empty directory.
    fn remove_dir(&self, name: &str) -> io::Result<()>;
    /// Renames a file or directory, atomically replacing a file (or empty directory) at `to`;
    /// may move between directories (then both need [`Dir::sync_dir`]).
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes creations, renames and removals of entries directly in `dir` durable.
    fn sync_dir(&self, dir: &str) -> io::Result<()>;
    /// Shortens a file (for cutting a torn WAL tail; `InvalidInput` if `len` is longer);
    /// durable only after the file is synced.
    fn truncate(&self, name: &str, len: u64) -> io::Result<()>;
    /// Free and total bytes of the volume.
    fn space(&self) -> io::Result<Space>;
    /// Whether `name` is a file or directory (false for an invalid name).
    fn exists(&self, name: &str) -> bool;
}

/// A file open for appending.
pub trait WriteFile: Send {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes the content durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
    /// The file's length now.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A file open for positional reads; it sees later writes, as a page cache does.
pub trait ReadFile: Send + Sync {
    /// Reads exactly `buf.len()` bytes at `offset` (`UnexpectedEof` past the end).
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// The file's length when it was opened.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The whole content of a file.
pub fn read_all(dir: &dyn Dir, name: &str) -> io::Result<Vec<u8>> {
    let f = dir.open_read(name)?;
    let len = usize::try_from(f.len()).map_err(|_| err(ErrorKind::OutOfMemory, name, "too big"))?;
    let mut buf = vec![0; len];
    f.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}

fn err(kind: ErrorKind, name: &str, what: &str) -> io::Error {
    io::Error::new(kind, format!("{name:?}: {what}"))
}

/// Checks a name; `""` (the root) only where `root_ok`.
fn check(name: &str, root_ok: bool) -> io::Result<()> {
    if name.is_empty() && root_ok {
        return Ok(());
    }
    let bad = name.contains('\0')
        || name
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(err(ErrorKind::InvalidInput, name, "invalid store path"));
    }
    Ok(())
}

fn too_long(name: &str) -> io::Error {
    err(ErrorKind::InvalidInput, name, "truncate cannot lengthen")
}

/// Real files under a root directory.
#[derive(Clone, Debug)]
pub struct FsDir {
    root: PathBuf,
}

impl FsDir {
    pub fn new(root: PathBuf) -> FsDir {
        FsDir { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str, root_ok: bool) -> io::Result<PathBuf> {
        check(name, root_ok)?;
        Ok(self.root.join(name))
    }
}

struct FsWrite(File);

impl WriteFile for FsWrite {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.0, buf)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn len(&self) -> u64 {
        // fstat rather than a counter: a failed write may have written a prefix.
        self.0.metadata().map_or(0, |m| m.len())
    }
}

struct FsRead {
    file: File,
    len: u64,
}

impl ReadFile for FsRead {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn len(&self) -> u64 {
        self.len
    }
}

impl Dir for FsDir {
    fn create(&self, name: &str) -> io::Result<Box<dyn WriteFile>> {
        let mut o = OpenOptions::new();
        let file = o
            .append(true)
            .create_new(true)
            .open(self.path(name, false)?)?;
        Ok(Box::new(FsWrite(file)))
    }

    fn open_append(&self, name: &str) -> io::Result<Box<dyn WriteFile>> {
        let file = OpenOptions::new()
            .append(true)
            .open(self.path(name, false)?)?;
        Ok(Box::new(FsWrite(file)))
    }

    fn open_read(&self, name: &str) -> io::Result<Arc<dyn ReadFile>> {
        let file = File::open(self.path(name, false)?)?;
        let meta = file.metadata()?;
        // Opening a directory read-only succeeds; reading it would not.
        if meta.is_dir() {
            return Err(err(ErrorKind::IsADirectory, name, "is a directory"));
        }
        Ok(Arc::new(FsRead {
            file,
            len: meta.len(),
        }))
    }

    fn list(&self, dir: &str) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.path(dir, true)?)? {
            let e = e?;
            // A name that is not UTF-8 cannot be one of the store's: skipped.
            if let Ok(name) = e.file_name().into_string() {
                let is_dir = e.file_type()?.is_dir();
                out.push(Entry { name, is_dir });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn create_dir(&self, name: &str) -> io::Result<()> {
        let p = self.path(name, false)?;
        match fs::create_dir(&p) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists && p.is_dir() => Ok(()),
            r => r,
        }
    }

    fn remove_dir(&self, name: &str) -> io::Result<()> {
        fs::remove_dir(self.path(name, false)?)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.path(from, false)?, self.path(to, false)?)
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.path(name, false)?)
    }

    fn sync_dir(&self, dir: &str) -> io::Result<()> {
        File::open(self.path(dir, true)?)?.sync_all()
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .open(self.path(name, false)?)?;
        if len > f.metadata()?.len() {
            return Err(too_long(name));
        }
        f.set_len(len)
    }

    fn space(&self) -> io::Result<Space> {
        let s = rustix::fs::statvfs(&self.root)?;
        Ok(Space {
            free: s.f_bavail.saturating_mul(s.f_frsize),
            total: s.f_blocks.saturating_mul(s.f_frsize),
        })
    }

    fn exists(&self, name: &str) -> bool {
        self.path(name, false)
            .is_ok_and(|p| fs::symlink_metadata(p).is_ok())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    File(usize),
    Dir(usize),
}

#[derive(Default)]
struct FileNode {
    data: Vec<u8>,
    /// The content as of the last sync.
    durable: Vec<u8>,
    /// Leading bytes of `data` known equal to `durable`, so a sync copies only the rest.
    same: usize,
}

impl FileNode {
    fn sync(&mut self) {
        self.durable.truncate(self.same);
        self.durable.extend_from_slice(&self.data[self.same..]);
        self.same = self.data.len();
    }
}

#[derive(Default)]
struct DirNode {
    entries: BTreeMap<String, Node>,
    /// The entries as of the last sync_dir.
    durable: BTreeMap<String, Node>,
}

/// Inode tables; `dirs[0]` is the root. Removed inodes stay (open handles may still use them,
/// as on unix) until the model is dropped, so a test's memory grows with what it removes.
struct Model {
    files: Vec<FileNode>,
    dirs: Vec<DirNode>,
}

impl Model {
    fn new() -> Model {
        Model {
            files: Vec::new(),
            dirs: vec![DirNode::default()],
        }
    }

    /// The node of a checked name.
    fn lookup(&self, name: &str) -> io::Result<Node> {
        let mut node = Node::Dir(0);
        for c in name.split('/').filter(|c| !c.is_empty()) {
            let Node::Dir(d) = node else {
                return Err(err(ErrorKind::NotADirectory, name, "not a directory"));
            };
            node = *self.dirs[d]
                .entries
                .get(c)
                .ok_or_else(|| err(ErrorKind::NotFound, name, "not found"))?;
        }
        Ok(node)
    }

    fn dir(&self, name: &str) -> io::Result<usize> {
        match self.lookup(name)? {
            Node::Dir(d) => Ok(d),
            Node::File(_) => Err(err(ErrorKind::NotADirectory, name, "not a directory")),
        }
    }

    fn file(&self, name: &str) -> io::Result<usize> {
        match self.lookup(name)? {
            Node::File(f) => Ok(f),
            Node::Dir(_) => Err(err(ErrorKind::IsADirectory, name, "is a directory")),
        }
    }

    /// The directory holding `name`, and the entry's name in it.
    fn parent<'a>(&self, name: &'a str) -> io::Result<(usize, &'a str)> {
        let (dir, leaf) = name.rsplit_once('/').unwrap_or(("", name));
        Ok((self.dir(dir)?, leaf))
    }

    /// Bytes of the files reachable from directory `d`.
    fn used(&self, d: usize) -> u64 {
        let size = |n: &Node| match *n {
            Node::File(f) => self.files[f].data.len() as u64,
            Node::Dir(d) => self.used(d),
        };
        self.dirs[d].entries.values().map(size).sum()
    }

    /// Copies the durable tree under `from` into `to` of `dst` (current = durable there).
    /// A directory reachable twice (a directory rename whose two sides were synced at
    /// different times can even make a cycle) is kept at its first name only.
    fn copy_durable(
        &self,
        from: usize,
        dst: &mut Model,
        to: usize,
        keep: bool,
        seen: &mut HashSet<usize>,
    ) {
        for (name, node) in &self.dirs[from].durable {
            let new = match *node {
                Node::File(f) => {
                    let f = &self.files[f];
                    let data = if keep { &f.data } else { &f.durable };
                    dst.files.push(FileNode {
                        data: data.clone(),
                        durable: data.clone(),
                        same: data.len(),
                    });
                    Node::File(dst.files.len() - 1)
                }
                Node::Dir(d) => {
                    if !seen.insert(d) {
                        continue;
                    }
                    dst.dirs.push(DirNode::default());
                    let id = dst.dirs.len() - 1;
                    self.copy_durable(d, dst, id, keep, seen);
                    Node::Dir(id)
                }
            };
            dst.dirs[to].entries.insert(name.clone(), new);
            dst.dirs[to].durable.insert(name.clone(), new);
        }
    }
}

/// How an injected failure fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailKind {
    /// `EIO` (raw os error 5).
    Eio,
    /// `ENOSPC` (raw os error 28).
    Enospc,
}

impl FailKind {
    pub fn error(self) -> io::Error {
        io::Error::from_raw_os_error(match self {
            FailKind::Eio => 5,
            FailKind::Enospc => 28,
        })
    }
}

#[derive(Default)]
struct Faults {
    ops: u64,
    /// `(op index, kind, sticky)`.
    planned: Vec<(u64, FailKind, bool)>,
    crash_at: Option<u64>,
    capacity: Option<u64>,
    space: Option<Space>,
}

impl Faults {
    fn fault(&self, op: u64) -> Option<FailKind> {
        if self.crash_at.is_some_and(|c| op >= c) {
            return Some(FailKind::Eio);
        }
        let hit = |&&(at, _, sticky): &&(u64, FailKind, bool)| at == op || (sticky && at < op);
        self.planned.iter().find(hit).map(|p| p.1)
    }
}

struct State {
    model: Model,
    faults: Faults,
}

/// Files in memory behind one lock; a clone is a handle to the same files. Without faults
/// set this is the fast test directory; [`FaultyDir`] names the same type used for its
/// fault injection and power loss.
#[derive(Clone)]
pub struct MemDir(Arc<Mutex<State>>);

/// [`MemDir`] used for failures and power loss. Every mutating operation (create, write_all,
/// sync, sync_dir, rename, remove, truncate, create_dir, remove_dir), failed or not, gets the
/// next index (from 0) in call order; opens, reads, list, exists and space get none. An
/// injected failure applies nothing, a write included; only the capacity limit writes a
/// prefix. Reads see the current content, like a page cache.
pub type FaultyDir = MemDir;

impl MemDir {
    pub fn new() -> MemDir {
        MemDir::with(Model::new())
    }

    fn with(model: Model) -> MemDir {
        let faults = Faults::default();
        MemDir(Arc::new(Mutex::new(State { model, faults })))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a mutating operation: counts it, and fails it unapplied if a fault is due.
    fn op<T>(&self, f: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
        let mut st = self.lock();
        let op = st.faults.ops;
        st.faults.ops += 1;
        if let Some(kind) = st.faults.fault(op) {
            return Err(kind.error());
        }
        f(&mut st)
    }

    /// Mutating operations attempted so far; the next one gets this index.
    pub fn ops(&self) -> u64 {
        self.lock().faults.ops
    }

    /// Fails operation `op` (with `sticky`, also every later one) with `kind`.
    pub fn fail_at(&self, op: u64, kind: FailKind, sticky: bool) {
        self.lock().faults.planned.push((op, kind, sticky));
    }

    /// The machine dies at operation `op`: it and every later one fail with EIO. Then
    /// [`MemDir::power_loss`] gives what the next boot finds.
    pub fn crash_at(&self, op: u64) {
        self.lock().faults.crash_at = Some(op);
    }

    /// Whether the operation [`MemDir::crash_at`] named has been reached.
    pub fn crashed(&self) -> bool {
        let st = self.lock();
        st.faults.crash_at.is_some_and(|c| st.faults.ops > c)
    }

    /// The answer of [`Dir::space`] from now on.
    pub fn set_space(&self, free: u64, total: u64) {
        self.lock().faults.space = Some(Space { free, total });
    }

    /// Writes fail with ENOSPC once the current files would hold more than `bytes`.
    pub fn set_capacity(&self, bytes: u64) {
        self.lock().faults.capacity = Some(bytes);
    }

    /// What survives power loss now, if the disk kept nothing unsynced: only durable
    /// entries, each file with its content as of its last sync. A fresh directory without
    /// faults, which can in turn be crashed (during recovery, say).
    pub fn power_loss(&self) -> MemDir {
        self.power_loss_keeping(false)
    }

    /// [`MemDir::power_loss`]; with `keep_unsynced`, files keep their current content
    /// instead (a disk may well have written it), while entries stay durable-only. A real disk
    /// lies between the two, e.g. keeping part of an unsynced tail, so crash tests should
    /// pass with both.
    pub fn power_loss_keeping(&self, keep_unsynced: bool) -> MemDir {
        let mut out = Model::new();
        let mut seen = HashSet::from([0]);
        let st = self.lock();
        st.model
            .copy_durable(0, &mut out, 0, keep_unsynced, &mut seen);
        MemDir::with(out)
    }
}

impl Default for MemDir {
    fn default() -> MemDir {
        MemDir::new()
    }
}

struct MemWrite {
    dir: MemDir,
    id: usize,
}

impl WriteFile for MemWrite {
    /// Past the capacity, writes the prefix that fits and then fails, like a full disk.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.dir.op(|st| {
            let room = match st.faults.capacity {
                Some(c) => c.saturating_sub(st.model.used(0)),
                None => u64::MAX,
            };
            let n = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
            st.model.files[self.id].data.extend_from_slice(&buf[..n]);
            if n < buf.len() {
                return Err(FailKind::Enospc.error());
            }
            Ok(())
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        self.dir.op(|st| {
            st.model.files[self.id].sync();
            Ok(())
        })
    }

    fn len(&self) -> u64 {
        self.dir.lock().model.files[self.id].data.len() as u64
    }
}

struct MemRead {
    dir: MemDir,
    id: usize,
    len: u64,
}

impl ReadFile for MemRead {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let st = self.dir.lock();
        let data = &st.model.files[self.id].data;
        let range = usize::try_from(offset)
            .ok()
            .and_then(|s| Some(s..s.checked_add(buf.len())?));
        let src = range.and_then(|r| data.get(r));
        let src =
            src.ok_or_else(|| io::Error::new(ErrorKind::UnexpectedEof, "read past the end"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len
    }
}

impl Dir for MemDir {
    fn create(&self, name: &str) -> io::Result<Box<dyn WriteFile>> {
        check(name, false)?;
        let id = self.op(|st| {
            let m = &mut st.model;
            let (d, leaf) = m.parent(name)?;
            if m.dirs[d].entries.contains_key(leaf) {
                return Err(err(ErrorKind::AlreadyExists, name, "already exists"));
            }
            m.files.push(FileNode::default());
            let id = m.files.len() - 1;
            m.dirs[d].entries.insert(leaf.to_owned(), Node::File(id));
            Ok(id)
        })?;
        Ok(Box::new(MemWrite {
            dir: self.clone(),
            id,
        }))
    }

    fn open_append(&self, name: &str) -> io::Result<Box<dyn WriteFile>> {
        check(name, false)?;
        let id = self.lock().model.file(name)?;
        Ok(Box::new(MemWrite {
            dir: self.clone(),
            id,
        }))
    }

    fn open_read(&self, name: &str) -> io::Result<Arc<dyn ReadFile>> {
        check(name, false)?;
        let st = self.lock();
        let id = st.model.file(name)?;
        let len = st.model.files[id].data.len() as u64;
        let dir = self.clone();
        Ok(Arc::new(MemRead { dir, id, len }))
    }

    fn list(&self, dir: &str) -> io::Result<Vec<Entry>> {
        check(dir, true)?;
        let st = self.lock();
        let d = st.model.dir(dir)?;
        let entry = |(name, node): (&String, &Node)| Entry {
            name: name.clone(),
            is_dir: matches!(node, Node::Dir(_)),
        };
        Ok(st.model.dirs[d].entries.iter().map(entry).collect())
    }

    fn create_dir(&self, name: &str) -> io::Result<()> {
        check(name, false)?;
        self.op(|st| {
            let m = &mut st.model;
            let (d, leaf) = m.parent(name)?;
            match m.dirs[d].entries.get(leaf) {
                Some(Node::Dir(_)) => Ok(()),
                Some(Node::File(_)) => Err(err(ErrorKind::AlreadyExists, name, "is a file")),
                None => {
                    m.dirs.push(DirNode::default());
                    let id = Node::Dir(m.dirs.len() - 1);
                    m.dirs[d].entries.insert(leaf.to_owned(), id);
                    Ok(())
                }
            }
        })
    }

    fn remove_dir(&self, name: &str) -> io::Result<()> {
        check(name, false)?;
        self.op(|st| {
            let m = &mut st.model;
            let d = m.dir(name)?;
            if !m.dirs[d].entries.is_empty() {
                return Err(err(ErrorKind::DirectoryNotEmpty, name, "not empty"));
            }
            let (p, leaf) = m.parent(name)?;
            m.dirs[p].entries.remove(leaf);
            Ok(())
        })
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        check(from, false)?;
        check(to, false)?;
        self.op(|st| {
            let m = &mut st.model;
            let node = m.lookup(from)?;
            let (fd, fleaf) = m.parent(from)?;
            let (td, tleaf) = m.parent(to)?;
            if from == to {
                return Ok(());
            }
            if matches!(node, Node::Dir(_))
                && to.strip_prefix(from).is_some_and(|r| r.starts_with('/'))
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    to,
                    "inside the renamed directory",
                ));
            }
            let clash = match (node, m.dirs[td].entries.get(tleaf)) {
                (Node::File(_), Some(Node::Dir(_))) => Some(ErrorKind::IsADirectory),
                (Node::Dir(_), Some(Node::File(_))) => Some(ErrorKind::NotADirectory),
                (Node::Dir(_), Some(Node::Dir(t))) if !m.dirs[*t].entries.is_empty() => {
                    Some(ErrorKind::DirectoryNotEmpty)
                }
                _ => None,
            };
            if let Some(kind) = clash {
                return Err(err(kind, to, "cannot be replaced"));
            }
            m.dirs[fd].entries.remove(fleaf);
            m.dirs[td].entries.insert(tleaf.to_owned(), node);
            Ok(())
        })
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        check(name, false)?;
        self.op(|st| {
            let m = &mut st.model;
            m.file(name)?;
            let (d, leaf) = m.parent(name)?;
            m.dirs[d].entries.remove(leaf);
            Ok(())
        })
    }

    fn sync_dir(&self, dir: &str) -> io::Result<()> {
        check(dir, true)?;
        self.op(|st| {
            let d = st.model.dir(dir)?;
            let dir = &mut st.model.dirs[d];
            dir.durable = dir.entries.clone();
            Ok(())
        })
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        check(name, false)?;
        self.op(|st| {
            let id = st.model.file(name)?;
            let f = &mut st.model.files[id];
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > f.data.len() {
                return Err(too_long(name));
            }
            f.data.truncate(len);
            f.same = f.same.min(len);
            Ok(())
        })
    }

    /// [`FaultyDir::set_space`]'s answer; else a volume of the capacity (default 1 TiB)
    /// holding only these files.
    fn space(&self) -> io::Result<Space> {
        let st = self.lock();
        if let Some(s) = st.faults.space {
            return Ok(s);
        }
        let total = st.faults.capacity.unwrap_or(1 << 40);
        let free = total.saturating_sub(st.model.used(0));
        Ok(Space { free, total })
    }

    fn exists(&self, name: &str) -> bool {
        check(name, false).is_ok() && self.lock().model.lookup(name).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    fn kind<T>(r: io::Result<T>) -> ErrorKind {
        r.err().expect("an error").kind()
    }

    fn errno<T>(r: io::Result<T>) -> Option<i32> {
        r.err().expect("an error").raw_os_error()
    }

    /// Creates, writes and syncs a file (the entry is not synced).
    fn put(d: &dyn Dir, name: &str, data: &[u8]) {
        let mut f = d.create(name).unwrap();
        f.write_all(data).unwrap();
        f.sync().unwrap();
    }

    fn names(d: &dyn Dir, dir: &str) -> Vec<(String, bool)> {
        let list = d.list(dir).unwrap().into_iter();
        list.map(|e| (e.name, e.is_dir)).collect()
    }

    /// What every implementation must agree on; run on real files and both models.
    fn semantics(d: &dyn Dir) {
        for bad in ["", "/abs", "a/../b", "a//b", ".", "a/", "x\0y"] {
            assert_eq!(kind(d.create(bad)), InvalidInput, "{bad:?}");
            assert!(!d.exists(bad));
        }
        assert_eq!(kind(d.list("..")), InvalidInput);
        assert_eq!(kind(d.create("p/a")), NotFound);
        d.create_dir("p").unwrap();
        d.create_dir("p").unwrap();
        d.create_dir("p/q").unwrap();
        let mut f = d.create("p/a").unwrap();
        f.write_all(b"hello").unwrap();
        f.sync().unwrap();
        assert_eq!(f.len(), 5);
        assert_eq!(kind(d.create("p/a")), AlreadyExists);
        let mut f = d.open_append("p/a").unwrap();
        assert_eq!(f.len(), 5);
        f.write_all(b" world").unwrap();
        assert_eq!(f.len(), 11);
        assert_eq!(read_all(d, "p/a").unwrap(), b"hello world");
        let r = d.open_read("p/a").unwrap();
        let mut buf = [0; 5];
        r.read_exact_at(&mut buf, 6).unwrap();
        assert_eq!(&buf, b"world");
        assert_eq!(kind(r.read_exact_at(&mut buf, 7)), UnexpectedEof);
        assert_eq!(kind(d.open_read("p")), IsADirectory);
        assert_eq!(kind(d.open_read("nope")), NotFound);
        assert_eq!(kind(d.open_append("nope")), NotFound);

        put(d, "b", b"old");
        put(d, "a", b"x");
        let s = |n: &str, dir| (n.to_owned(), dir);
        assert_eq!(names(d, ""), [s("a", false), s("b", false), s("p", true)]);
        assert_eq!(names(d, "p"), [s("a", false), s("q", true)]);
        d.rename("p/a", "b").unwrap();
        assert!(!d.exists("p/a") && d.exists("b"));
        assert_eq!(read_all(d, "b").unwrap(), b"hello world");
        assert_eq!(kind(d.rename("b", "p/q")), IsADirectory);
        assert_eq!(kind(d.rename("nope", "c")), NotFound);
        d.sync_dir("").unwrap();
        d.sync_dir("p").unwrap();

        d.truncate("b", 5).unwrap();
        assert_eq!(kind(d.truncate("b", 6)), InvalidInput);
        let mut f = d.open_append("b").unwrap();
        f.write_all(b"!").unwrap();
        assert_eq!(read_all(d, "b").unwrap(), b"hello!");

        assert_eq!(kind(d.remove("p")), IsADirectory);
        assert_eq!(kind(d.remove_dir("p")), DirectoryNotEmpty);
        d.rename("p/q", "r").unwrap();
        assert_eq!(names(d, "p"), []);
        d.remove_dir("p").unwrap();
        d.remove_dir("r").unwrap();
        d.remove("a").unwrap();
        assert_eq!(kind(d.remove("a")), NotFound);
        assert_eq!(names(d, ""), [s("b", false)]);
        let space = d.space().unwrap();
        assert!(space.total > 0 && space.free <= space.total, "{space:?}");
    }

    #[test]
    fn fs_dir_semantics() {
        let tmp = tempfile::TempDir::new().unwrap();
        semantics(&FsDir::new(tmp.path().to_owned()));
        assert!(tmp.path().join("b").is_file());
    }

    #[test]
    fn mem_dir_semantics() {
        let d = MemDir::new();
        semantics(&d.clone());
        assert_eq!(read_all(&d, "b").unwrap(), b"hello!");
    }

    #[test]
    fn faulty_dir_semantics() {
        let d = FaultyDir::new();
        semantics(&d);
        assert!(d.ops() > 20);
    }

    #[test]
    fn content_is_durable_after_sync_entries_after_sync_dir() {
        let d = FaultyDir::new();
        let mut f = d.create("a").unwrap();
        f.write_all(b"x").unwrap();
        f.sync().unwrap();
        assert!(!d.power_loss().exists("a"));
        d.sync_dir("").unwrap();
        f.write_all(b"y").unwrap();
        assert_eq!(read_all(&d.power_loss(), "a").unwrap(), b"x");
        assert_eq!(read_all(&d.power_loss_keeping(true), "a").unwrap(), b"xy");
        f.sync().unwrap();
        assert_eq!(read_all(&d.power_loss(), "a").unwrap(), b"xy");
        d.truncate("a", 1).unwrap();
        assert_eq!(read_all(&d.power_loss(), "a").unwrap(), b"xy");
        f.sync().unwrap();
        assert_eq!(read_all(&d.power_loss(), "a").unwrap(), b"x");

        // A new directory's entry needs its parent synced.
        d.create_dir("p").unwrap();
        put(&d, "p/b", b"b");
        d.sync_dir("p").unwrap();
        assert!(!d.power_loss().exists("p"));
        d.sync_dir("").unwrap();
        assert_eq!(read_all(&d.power_loss(), "p/b").unwrap(), b"b");
    }

    #[test]
    fn rename_and_remove_are_durable_after_sync_dir() {
        let d = FaultyDir::new();
        put(&d, "final", b"old");
        put(&d, "tmp", b"new");
        d.sync_dir("").unwrap();
        d.rename("tmp", "final").unwrap();
        let lost = d.power_loss();
        assert_eq!(read_all(&lost, "final").unwrap(), b"old");
        assert_eq!(read_all(&lost, "tmp").unwrap(), b"new");
        d.sync_dir("").unwrap();
        let kept = d.power_loss();
        assert_eq!(read_all(&kept, "final").unwrap(), b"new");
        assert!(!kept.exists("tmp"));

        d.remove("final").unwrap();
        assert!(d.power_loss().exists("final"));
        d.sync_dir("").unwrap();
        assert!(!d.power_loss().exists("final"));

        // Across directories, each side is durable on its own.
        d.create_dir("q").unwrap();
        put(&d, "f", b"f");
        d.sync_dir("").unwrap();
        d.rename("f", "q/f").unwrap();
        d.sync_dir("q").unwrap();
        let both = d.power_loss();
        assert!(both.exists("f") && both.exists("q/f"));
    }

    #[test]
    fn directory_cycle_in_durable_view_terminates() {
        let d = FaultyDir::new();
        d.create_dir("a").unwrap();
        d.create_dir("a/b").unwrap();
        d.sync_dir("").unwrap();
        d.sync_dir("a").unwrap();
        d.rename("a/b", "b").unwrap();
        d.sync_dir("").unwrap();
        d.rename("a", "b/a").unwrap();
        d.sync_dir("b").unwrap();
        // Durable: root {a, b}, a {b}, b {a}.
        let lost = d.power_loss();
        assert_eq!(names(&lost, "a"), [("b".to_owned(), true)]);
        assert_eq!(names(&lost, "a/b"), []);
        assert!(!lost.exists("b"));
    }

    #[test]
    fn fail_at_hits_exactly_the_chosen_op() {
        let d = FaultyDir::new();
        let mut f = d.create("a").unwrap(); // op 0
        f.write_all(b"ab").unwrap(); // 1
        assert_eq!(d.ops(), 2);
        d.fail_at(2, FailKind::Enospc, false);
        assert_eq!(errno(f.write_all(b"cd")), Some(28));
        assert_eq!(f.len(), 2);
        f.write_all(b"ef").unwrap(); // 3
        d.fail_at(5, FailKind::Eio, true);
        f.sync().unwrap(); // 4
        assert_eq!(errno(d.sync_dir("")), Some(5));
        assert_eq!(errno(d.create("b")), Some(5));
        assert_eq!(errno(f.sync()), Some(5));
        assert!(!d.exists("b"));
        assert_eq!(read_all(&d, "a").unwrap(), b"abef");
        assert_eq!(d.ops(), 8);
        assert!(!d.power_loss().exists("a"));
    }

    #[test]
    fn crash_then_power_loss() {
        let d = FaultyDir::new();
        d.create_dir("p").unwrap();
        d.sync_dir("").unwrap();
        let mut f = d.create("p/wal").unwrap();
        d.sync_dir("p").unwrap();
        f.write_all(b"acked").unwrap();
        f.sync().unwrap(); // op 5
        d.crash_at(7);
        f.write_all(b"+more").unwrap();
        assert!(!d.crashed());
        assert_eq!(errno(f.sync()), Some(5));
        assert!(d.crashed());
        assert_eq!(errno(d.remove("p/wal")), Some(5));
        assert_eq!(read_all(&d, "p/wal").unwrap(), b"acked+more");
        assert_eq!(read_all(&d.power_loss(), "p/wal").unwrap(), b"acked");
        let kept = d.power_loss_keeping(true);
        assert_eq!(read_all(&kept, "p/wal").unwrap(), b"acked+more");

        // Recovery on the survivor can crash again.
        let again = d.power_loss();
        again.fail_at(0, FailKind::Eio, false);
        assert_eq!(errno(again.truncate("p/wal", 1)), Some(5));
        assert_eq!(read_all(&again, "p/wal").unwrap(), b"acked");
        assert!(again.power_loss().exists("p/wal"));
    }

    #[test]
    fn capacity_fails_writes_with_enospc() {
        let d = FaultyDir::new();
        d.set_capacity(10);
        let mut f = d.create("a").unwrap();
        f.write_all(&[1; 6]).unwrap();
        assert_eq!(d.space().unwrap(), Space { free: 4, total: 10 });
        assert_eq!(errno(f.write_all(&[2; 6])), Some(28));
        assert_eq!(read_all(&d, "a").unwrap(), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(errno(f.write_all(b"x")), Some(28));
        d.remove("a").unwrap();
        let mut g = d.create("b").unwrap();
        g.write_all(&[0; 10]).unwrap();
        d.set_space(1, 2);
        assert_eq!(d.space().unwrap(), Space { free: 1, total: 2 });
    }
}
