//! PRI: `<facility * 8 + severity>`, and the names squiflog gives both parts.

/// A message's facility and severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Priority(u8);

/// RFC 3164 §4.3.3: a message without PRI is taken as user.notice.
pub(crate) const DEFAULT: Priority = Priority(13);

/// Severity names as squiflog writes them into `@l` (seqr-types' level aliases know them all).
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Facility names as squiflog writes them into `facility`.
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// What the start of a message holds.
pub(crate) enum Pri<'a> {
    /// A valid PRI and the bytes after it.
    Valid(Priority, &'a [u8]),
    /// No `<` at all.
    Missing,
    /// A `<` that does not open `<0>`..`<191>`.
    Bad,
}

impl Priority {
    pub(crate) fn severity(self) -> &'static str {
        SEVERITIES[usize::from(self.0 % 8)]
    }

    pub(crate) fn facility(self) -> &'static str {
        // PRI is at most 191, so the facility is at most 23.
        FACILITIES[usize::from(self.0 / 8)]
    }

    /// Reads `<N>` (one to three digits, at most 191) at the start of `bytes`.
    pub(crate) fn parse(bytes: &[u8]) -> Pri<'_> {
        let Some(rest) = bytes.strip_prefix(b"<") else {
            return Pri::Missing;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=3).contains(&digits) || rest.get(digits) != Some(&b'>') {
            return Pri::Bad;
        }
        let value = rest[..digits]
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        match u8::try_from(value) {
            Ok(v) if v <= 191 => Pri::Valid(Priority(v), &rest[digits + 1..]),
            _ => Pri::Bad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pri(text: &str) -> Option<Priority> {
        match Priority::parse(text.as_bytes()) {
            Pri::Valid(p, _) => Some(p),
            _ => None,
        }
    }

    #[test]
    fn severities_are_squiflogs_names() {
        let names: Vec<_> = (0..8).map(|s| Priority(s).severity()).collect();
        assert_eq!(
            names,
            [
                "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
            ]
        );
        // The same names one facility up.
        assert_eq!(Priority(134).severity(), "info");
        assert_eq!(Priority(191).severity(), "debug");
    }

    #[test]
    fn every_severity_is_a_known_seq_level() {
        use seqr_types::CanonicalLevel::*;
        let expected = [
            Fatal,
            Fatal,
            Fatal,
            Error,
            Warning,
            Information,
            Information,
            Debug,
        ];
        for (s, level) in expected.into_iter().enumerate() {
            let name = Priority(s as u8).severity();
            assert_eq!(
                seqr_types::CanonicalLevel::from_alias(name),
                Some(level),
                "{name}"
            );
        }
    }

    #[test]
    fn all_24_facilities_are_named() {
        let names: Vec<_> = (0..24).map(|f| Priority(f * 8).facility()).collect();
        assert_eq!(
            names,
            [
                "kern",
                "user",
                "mail",
                "daemon",
                "auth",
                "syslog",
                "lpr",
                "news",
                "uucp",
                "cron",
                "authpriv",
                "ftp",
                "ntp",
                "security",
                "console",
                "solaris-cron",
                "local0",
                "local1",
                "local2",
                "local3",
                "local4",
                "local5",
                "local6",
                "local7"
            ]
        );
        assert_eq!(DEFAULT.facility(), "user");
        assert_eq!(DEFAULT.severity(), "notice");
    }

    #[test]
    fn pri_is_one_to_three_digits_up_to_191() {
        assert_eq!(pri("<0>x"), Some(Priority(0)));
        assert_eq!(pri("<134>x"), Some(Priority(134)));
        assert_eq!(pri("<191>"), Some(Priority(191)));
        assert_eq!(pri("<013>"), Some(Priority(13)));
        for bad in ["<192>", "<999>", "<>", "<", "<1234>", "<12", "<a>", "<-1>"] {
            assert!(matches!(Priority::parse(bad.as_bytes()), Pri::Bad), "{bad}");
        }
        assert!(matches!(Priority::parse(b"hello"), Pri::Missing));
    }
}
