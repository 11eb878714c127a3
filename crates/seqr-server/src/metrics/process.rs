//! The process's own figures from `/proc` (Linux; elsewhere they are simply absent): reading
//! two small files is cheaper than any crate and needs no unsafe code.

/// What `/proc/self` says now.
#[derive(Debug, Default)]
pub(crate) struct Process {
    pub(crate) resident_bytes: Option<u64>,
    pub(crate) threads: Option<u64>,
    pub(crate) open_fds: Option<u64>,
}

impl Process {
    pub(crate) fn read() -> Process {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status.lines().find_map(|l| {
                let rest = l.strip_prefix(name)?.strip_prefix(':')?;
                rest.split_whitespace().next()?.parse::<u64>().ok()
            })
        };
        Process {
            // `VmRSS` is in kB whatever the page size, unlike `statm`.
            resident_bytes: field("VmRSS").map(|kb| kb * 1024),
            threads: field("Threads"),
            // Counting entries opens one more descriptor, for the directory itself.
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| (d.count() as u64).saturating_sub(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_memory_threads_and_descriptors() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let p = super::Process::read();
        assert!(p.resident_bytes.unwrap() > 1024 * 1024, "{p:?}");
        assert!(p.threads.unwrap() >= 1, "{p:?}");
        assert!(p.open_fds.unwrap() >= 3, "stdin, stdout, stderr: {p:?}");
    }
}
