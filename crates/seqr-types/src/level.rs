//! Seq's level alias table: levels are stored as sent and mapped only for ordering and colour.

/// Serilog's six levels, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CanonicalLevel {
    /// Also `trace`.
    Verbose,
    /// Debug.
    Debug,
    /// Also `notice`, the default for unknown spellings.
    Information,
    /// Warning.
    Warning,
    /// Error.
    Error,
    /// Also critical, emergency, alert, panic.
    Fatal,
}

impl CanonicalLevel {
    /// Serilog's name, as `MinimumLevelAccepted` reports it.
    pub fn name(self) -> &'static str {
        match self {
            CanonicalLevel::Verbose => "Verbose",
            CanonicalLevel::Debug => "Debug",
            CanonicalLevel::Information => "Information",
            CanonicalLevel::Warning => "Warning",
            CanonicalLevel::Error => "Error",
            CanonicalLevel::Fatal => "Fatal",
        }
    }

    /// Maps a level as sent to its canonical level (case-insensitive); `None` for unknown text.
    pub fn from_alias(sent: &str) -> Option<CanonicalLevel> {
        let lower = sent.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "t" | "tr" | "trc" | "trce" | "trace" | "v" | "ver" | "vrb" | "verb" | "verbose" => {
                CanonicalLevel::Verbose
            }
            "d" | "de" | "dbg" | "deb" | "dbug" | "debu" | "debug" => CanonicalLevel::Debug,
            "i" | "in" | "inf" | "info" | "information" | "notice" => CanonicalLevel::Information,
            "w" | "wa" | "war" | "wrn" | "warn" | "warning" => CanonicalLevel::Warning,
            "e" | "er" | "err" | "erro" | "eror" | "error" => CanonicalLevel::Error,
            "f" | "fa" | "ftl" | "fat" | "fatl" | "fatal" | "c" | "cr" | "crt" | "cri" | "crit"
            | "critical" | "emerg" | "emergency" | "alert" | "panic" => CanonicalLevel::Fatal,
            _ => return None,
        })
    }

    /// The canonical level of an event's level as sent: absent or unknown means Information.
    pub fn of(sent: Option<&str>) -> CanonicalLevel {
        sent.and_then(CanonicalLevel::from_alias)
            .unwrap_or(CanonicalLevel::Information)
    }
}

#[cfg(test)]
mod tests {
    use super::CanonicalLevel::{self, *};

    #[test]
    fn aliases_from_real_clients() {
        let cases = [
            ("Information", Information),
            ("INFO", Information),
            ("info", Information),
            ("WARN", Warning),
            ("WARNING", Warning),
            ("warn", Warning),
            ("ERROR", Error),
            ("err", Error),
            ("CRITICAL", Fatal),
            ("emerg", Fatal),
            ("alert", Fatal),
            ("panic", Fatal),
            ("trace", Verbose),
            ("Verbose", Verbose),
            ("DEBUG", Debug),
            ("notice", Information),
        ];
        for (sent, level) in cases {
            assert_eq!(CanonicalLevel::of(Some(sent)), level, "{sent}");
        }
        assert_eq!(CanonicalLevel::of(None), Information);
        assert_eq!(CanonicalLevel::of(Some("chatty")), Information);
        assert!(Verbose < Debug && Debug < Information && Warning < Error && Error < Fatal);
    }
}
