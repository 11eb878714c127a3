//! The packaging files: the systemd unit passes `systemd-analyze verify`, the Dockerfile copies
//! only files that exist and runs as a non-root user, and the flags they pass exist.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::server::SEQR;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// `seqr serve --help`, for checking flags the packaging files pass.
fn serve_help() -> String {
    let out = Command::new(SEQR)
        .args(["serve", "--help"])
        .output()
        .expect("run seqr serve --help");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `--flag` words in a command line.
fn flags(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || "\"',[]".contains(c))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.split('=').next().unwrap_or(w))
        .collect()
}

#[test]
fn systemd_unit_verifies() {
    let unit = read("packaging/systemd/seqr.service");
    let help = serve_help();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart= in seqr.service");
    assert!(
        exec.starts_with("/usr/local/bin/seqr serve "),
        "ExecStart: {exec}"
    );
    for flag in flags(exec) {
        assert!(
            help.contains(flag),
            "ExecStart passes {flag}, which `seqr serve` lacks"
        );
    }
    for needed in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/seqr",
        "StateDirectory=seqr",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "CapabilityBoundingSet=\n",
        "User=seqr",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "LimitNOFILE=65536",
    ] {
        assert!(unit.contains(needed), "seqr.service lacks {needed:?}");
    }
    let sysusers = read("packaging/systemd/seqr.sysusers.conf");
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", "seqr"])),
        "seqr.sysusers.conf creates no seqr user:\n{sysusers}"
    );

    if !crate::support::tool_found("systemd-analyze") {
        assert!(
            !crate::support::in_ci(),
            "systemd-analyze is missing; .ci/deps.sh installs it"
        );
        eprintln!("SKIPPED systemd-analyze verify: systemd-analyze is not installed");
        return;
    }
    // verify checks that ExecStart's program exists: point it at the freshly built binary.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("seqr.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/seqr", SEQR)).expect("write the unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .output()
        .expect("run systemd-analyze verify");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Messages about this unit are problems (unknown keys are only warnings, exit 0); the
    // host's own units may draw messages too, which are not ours.
    let ours: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("seqr.service") || l.contains(SEQR))
        .collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify ({}):\n{report}",
        out.status
    );
    if !report.trim().is_empty() {
        eprintln!("systemd-analyze verify, about other units:\n{report}");
    }
}

#[test]
fn dockerfile_is_sensible() {
    let dockerfile = read("Dockerfile");
    let ignore = read(".dockerignore");
    // Continuation lines joined, comments dropped.
    let joined = dockerfile
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let mut users = Vec::new();
    let mut stages = 0;
    for line in joined.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        let Some(instruction) = words.next() else {
            continue;
        };
        let args: Vec<&str> = words.collect();
        match instruction.to_ascii_uppercase().as_str() {
            "FROM" => {
                stages += 1;
                users.clear();
            }
            "USER" => users.push(args.join(" ")),
            "COPY" if !args.iter().any(|a| a.starts_with("--from=")) => {
                let sources = &args[..args.len() - 1];
                for source in sources.iter().filter(|s| !s.starts_with("--")) {
                    assert!(
                        repo().join(source).exists(),
                        "Dockerfile copies {source}, which is not in the repository"
                    );
                    let top = source.trim_end_matches('/');
                    assert!(
                        !ignore
                            .lines()
                            .any(|l| l.trim().trim_end_matches('/') == top),
                        ".dockerignore excludes {source}, which the Dockerfile copies"
                    );
                }
            }
            _ => {}
        }
    }
    assert!(stages >= 2, "a multi-stage build");
    let user = users.last().expect("the runtime stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "the image runs as {user}"
    );
    for needed in [
        "ENTRYPOINT [\"seqr\", \"serve\"]",
        "EXPOSE 5341",
        "VOLUME [\"/data\"]",
        "HEALTHCHECK",
        "/health",
    ] {
        assert!(dockerfile.contains(needed), "Dockerfile lacks {needed}");
    }
    let help = serve_help();
    let cmd = joined
        .lines()
        .find(|l| l.starts_with("CMD "))
        .expect("CMD with the serve flags");
    for flag in flags(cmd) {
        assert!(
            help.contains(flag),
            "CMD passes {flag}, which `seqr serve` lacks"
        );
    }
    for excluded in ["target/", "node_modules/", "ui/dist/", "seqr-data/"] {
        assert!(
            ignore.lines().any(|l| l.trim() == excluded),
            ".dockerignore should exclude {excluded}"
        );
    }
}
