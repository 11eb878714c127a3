//! Starting, killing and restarting the real `seqr` binary.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const SEQR: &str = env!("CARGO_BIN_EXE_seqr");

/// How long a server may take to print its `Listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A temp directory holding one storage dir and the servers' combined stderr log.
pub struct TestDir {
    dir: TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("seqr-it-")
            .tempdir()
            .expect("create temp dir");
        std::fs::create_dir_all(dir.path().join("storage")).expect("create storage dir");
        TestDir { dir }
    }

    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("server-stderr.log")
    }

    /// Start a server on this directory's storage; panics (with its stderr) if it doesn't come up.
    pub fn start(&self) -> Server {
        Server::start(&self.storage(), &self.log())
    }

    /// Start a server and ingest nothing: the usual fresh server for one test.
    pub fn fresh() -> (TestDir, Server) {
        let dir = TestDir::new();
        let server = dir.start();
        (dir, server)
    }
}

/// A running `seqr serve`; killed (SIGKILL) and reaped on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    /// GELF and syslog listeners from the `Accepting gelf-udp on ADDR` lines, in order.
    pub inputs: Vec<(String, std::net::SocketAddr)>,
    log: PathBuf,
}

/// Why a server didn't come up.
#[derive(Debug)]
pub struct StartError {
    pub status: Option<ExitStatus>,
    pub stderr: String,
    pub reason: String,
}

impl Server {
    pub fn start(storage: &Path, log: &Path) -> Server {
        match Server::try_start(storage, log) {
            Ok(s) => s,
            Err(e) => panic!(
                "seqr serve did not start: {} (exit status {:?})\n--- server stderr ---\n{}",
                e.reason, e.status, e.stderr
            ),
        }
    }

    /// Spawn `seqr serve --listen 127.0.0.1:0 --storage <storage>` and wait for its
    /// `Listening on http://127.0.0.1:<port>` line. Stderr is appended to `log`.
    pub fn try_start(storage: &Path, log: &Path) -> Result<Server, StartError> {
        Server::try_start_with(storage, log, &[])
    }

    /// [`Server::try_start`] with more arguments for `seqr serve` (e.g. `--secret-key-file`).
    pub fn try_start_with(
        storage: &Path,
        log: &Path,
        extra: &[&std::ffi::OsStr],
    ) -> Result<Server, StartError> {
        Server::try_start_as(storage, log, extra, &[], false)
    }

    /// An authenticating server (as a fresh install is), with `envs` set for it (such as
    /// `SEQR_FIRSTRUN_ADMINPASSWORD`); panics if it does not start.
    pub fn start_authenticating(
        storage: &Path,
        log: &Path,
        extra: &[&std::ffi::OsStr],
        envs: &[(&str, &str)],
    ) -> Server {
        Server::try_start_as(storage, log, extra, envs, true).unwrap_or_else(|e| {
            panic!(
                "seqr serve did not start: {} (exit status {:?})\n--- server stderr ---\n{}",
                e.reason, e.status, e.stderr
            )
        })
    }

    fn try_start_as(
        storage: &Path,
        log: &Path,
        extra: &[&std::ffi::OsStr],
        envs: &[(&str, &str)],
        authenticating: bool,
    ) -> Result<Server, StartError> {
        let stderr_file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .expect("open server log");
        let log_start = stderr_file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut child = Command::new(SEQR)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--storage")
            .arg(storage)
            // These suites test ingestion, durability and search; who may call each route is
            // tested route by route in crates/seqr-server/tests/it/access.rs.
            .args((!authenticating).then_some("--no-authentication"))
            .args(extra)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file))
            .spawn()
            .expect("spawn the seqr binary");

        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<(u16, Vec<(String, std::net::SocketAddr)>)>();
        std::thread::spawn(move || {
            // Keep draining stdout for the server's whole life so it never blocks on a full pipe.
            // The inputs are announced before the HTTP listeners.
            let mut tx = Some(tx);
            let mut inputs = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(input) = parse_input_line(&line) {
                    inputs.push(input);
                }
                if let Some(port) = parse_listening_line(&line)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send((port, std::mem::take(&mut inputs)));
                }
            }
        });

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let failure = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok((port, inputs)) => {
                    return Ok(Server {
                        child: Some(child),
                        port,
                        inputs,
                        log: log.to_path_buf(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stdout closed without a Listening line: the process is exiting.
                    let status = wait_timeout(&mut child, Duration::from_secs(10));
                    break (
                        status,
                        "stdout closed before a `Listening on` line".to_string(),
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        break (Some(status), "exited before listening".to_string());
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        break (
                            None,
                            format!("no `Listening on` line within {STARTUP_TIMEOUT:?}"),
                        );
                    }
                }
            }
        };
        if failure.0.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(StartError {
            status: failure.0,
            stderr: read_log_from(log, log_start),
            reason: failure.1,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// SIGKILL the server and reap it.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9 the server");
            child.wait().expect("reap the server");
        }
    }

    /// SIGTERM the server and wait (up to `timeout`) for it to exit; returns its exit status.
    pub fn terminate(mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM failed: {status}");
        match wait_timeout(&mut child, timeout) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "server did not exit within {timeout:?} of SIGTERM\n--- server stderr ---\n{}",
                    read_log_from(&self.log, 0)
                );
            }
        }
    }

    /// The server's (and any earlier servers' in the same dir) stderr so far.
    pub fn stderr(&self) -> String {
        read_log_from(&self.log, 0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn parse_listening_line(line: &str) -> Option<u16> {
    let rest = line.trim().strip_prefix("Listening on http://")?;
    let host_port = rest.split('/').next()?;
    let (_, port) = host_port.rsplit_once(':')?;
    port.parse().ok().filter(|p| *p != 0)
}

/// `Accepting gelf-udp on 127.0.0.1:40001` → (`gelf-udp`, the address).
fn parse_input_line(line: &str) -> Option<(String, std::net::SocketAddr)> {
    let rest = line.trim().strip_prefix("Accepting ")?;
    let (kind, address) = rest.split_once(" on ")?;
    Some((kind.to_owned(), address.parse().ok()?))
}

impl Server {
    /// The address of the first input of `kind` (e.g. `gelf-udp`).
    pub fn input(&self, kind: &str) -> std::net::SocketAddr {
        self.inputs
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("the server announced no {kind} input: {:?}", self.inputs))
    }
}

pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => return None,
            Err(e) => panic!("waiting for the server: {e}"),
        }
    }
}

fn read_log_from(log: &Path, start: u64) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    let start = (start as usize).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    // Keep failure messages readable.
    const MAX: usize = 16 * 1024;
    if text.len() > MAX {
        let mut cut = text.len() - MAX;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        format!("...{}", &text[cut..])
    } else {
        text
    }
}

#[test]
fn listening_line_parses() {
    assert_eq!(
        parse_listening_line("Listening on http://127.0.0.1:5341"),
        Some(5341)
    );
    assert_eq!(
        parse_listening_line("Listening on http://127.0.0.1:41234/\r"),
        Some(41234)
    );
    assert_eq!(
        parse_listening_line("Listening on http://127.0.0.1:0"),
        None
    );
    assert_eq!(parse_listening_line("starting"), None);
}
