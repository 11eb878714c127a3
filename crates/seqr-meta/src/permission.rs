//! Seq's permissions (seq-compat 4.1) and sets of them.

use std::fmt;
use std::str::FromStr;

/// A permission, as Seq names it. Routes demand one; roles and API keys grant sets of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Needs no credentials: sign-in, its bootstrap settings, `GET /api`, `/health`.
    Public,
    /// Add events.
    Ingest,
    /// Query events; view signals, dashboards, queries.
    Read,
    /// Change own and shared signals, queries, dashboards, alerts; personal API keys.
    Write,
    /// Ingestion, storage and alerting configuration: shared API keys, retention, deleting events.
    Project,
    /// User accounts.
    Organization,
    /// Host-level administration: settings, backups, apps, diagnostics.
    System,
}

impl Permission {
    /// Every permission, in Seq's order.
    pub const ALL: [Permission; 7] = [
        Permission::Public,
        Permission::Ingest,
        Permission::Read,
        Permission::Write,
        Permission::Project,
        Permission::Organization,
        Permission::System,
    ];

    /// Seq's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Public => "Public",
            Permission::Ingest => "Ingest",
            Permission::Read => "Read",
            Permission::Write => "Write",
            Permission::Project => "Project",
            Permission::Organization => "Organization",
            Permission::System => "System",
        }
    }

    /// This permission's bit in a [`PermissionSet`]. Stored in the database: never renumber.
    pub const fn bit(self) -> u8 {
        match self {
            Permission::Public => 1 << 0,
            Permission::Ingest => 1 << 1,
            Permission::Read => 1 << 2,
            Permission::Write => 1 << 3,
            Permission::Project => 1 << 4,
            Permission::Organization => 1 << 5,
            Permission::System => 1 << 6,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Text that is not a permission name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParsePermissionError {
    /// `Setup`: Seq's pre-2022.1 administrative permission, since split into Project and System.
    ObsoleteSetup,
    /// Anything else.
    Unknown(String),
}

impl fmt::Display for ParsePermissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParsePermissionError::ObsoleteSetup => f.write_str(
                "the `Setup` permission was removed in Seq 2022.1: it was split into `Project` \
                 (API keys, retention, alerting and other ingestion and storage configuration) \
                 and `System` (settings, backups, apps, diagnostics and other host-level \
                 administration); grant one or both of those instead",
            ),
            ParsePermissionError::Unknown(text) => write!(
                f,
                "`{}` is not a permission; expected one of Public, Ingest, Read, Write, Project, Organization, System",
                text.chars().take(64).collect::<String>()
            ),
        }
    }
}

impl std::error::Error for ParsePermissionError {}

impl FromStr for Permission {
    type Err = ParsePermissionError;

    /// Case-insensitive; surrounding white space is ignored.
    fn from_str(s: &str) -> Result<Permission, ParsePermissionError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("setup") {
            return Err(ParsePermissionError::ObsoleteSetup);
        }
        Permission::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParsePermissionError::Unknown(s.to_owned()))
    }
}

/// A set of permissions (a bit set; see [`Permission::bit`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u8);

impl PermissionSet {
    /// No permissions.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Every permission except `Public` (which is a demand, never something to grant): an
    /// administrator's set.
    pub const ALL_GRANTABLE: PermissionSet = PermissionSet(
        Permission::Ingest.bit()
            | Permission::Read.bit()
            | Permission::Write.bit()
            | Permission::Project.bit()
            | Permission::Organization.bit()
            | Permission::System.bit(),
    );

    const KNOWN_BITS: u8 = 0x7f;

    /// A set holding exactly `permissions`.
    pub const fn of(permissions: &[Permission]) -> PermissionSet {
        let mut bits = 0;
        let mut i = 0;
        while i < permissions.len() {
            bits |= permissions[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    }

    /// The stored form.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// From the stored form; `None` when a bit no permission uses is set.
    pub const fn from_bits(bits: u8) -> Option<PermissionSet> {
        if bits & !Self::KNOWN_BITS == 0 {
            Some(PermissionSet(bits))
        } else {
            None
        }
    }

    /// Whether `p` is in the set.
    pub const fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether every permission of `other` is in the set.
    pub const fn contains_all(self, other: PermissionSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether a principal holding this set meets `demand`. `Public` is met by anyone.
    pub const fn satisfies(self, demand: Permission) -> bool {
        matches!(demand, Permission::Public) || self.contains(demand)
    }

    /// Adds `p`.
    pub fn insert(&mut self, p: Permission) {
        self.0 |= p.bit();
    }

    /// Removes `p`.
    pub fn remove(&mut self, p: Permission) {
        self.0 &= !p.bit();
    }

    /// Permissions in either set.
    #[must_use]
    pub const fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    /// Permissions in both sets (delegation: a personal key's assigned ∩ its owner's).
    #[must_use]
    pub const fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in the set, in Seq's order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> PermissionSet {
        let mut set = PermissionSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl From<Permission> for PermissionSet {
    fn from(p: Permission) -> PermissionSet {
        PermissionSet(p.bit())
    }
}

/// `Read, Write` (Seq's order); empty set is the empty string.
impl fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(p.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_case_insensitive_and_round_trips() {
        for p in Permission::ALL {
            assert_eq!(p.to_string().parse::<Permission>(), Ok(p));
            assert_eq!(p.name().to_uppercase().parse::<Permission>(), Ok(p));
            assert_eq!(p.name().to_lowercase().parse::<Permission>(), Ok(p));
        }
        assert_eq!(" read ".parse::<Permission>(), Ok(Permission::Read));
    }

    #[test]
    fn setup_is_refused_with_its_replacements() {
        for text in ["Setup", "setup", "SETUP"] {
            let err = text.parse::<Permission>().unwrap_err();
            assert_eq!(err, ParsePermissionError::ObsoleteSetup);
            let msg = err.to_string();
            assert!(msg.contains("2022"), "{msg}");
            assert!(msg.contains("Project") && msg.contains("System"), "{msg}");
        }
        assert!(matches!(
            "Undefined".parse::<Permission>(),
            Err(ParsePermissionError::Unknown(_))
        ));
    }

    #[test]
    fn set_operations() {
        let rw = PermissionSet::of(&[Permission::Read, Permission::Write]);
        assert!(rw.contains(Permission::Read) && !rw.contains(Permission::Ingest));
        assert!(rw.satisfies(Permission::Public));
        assert!(!PermissionSet::EMPTY.satisfies(Permission::Read));
        assert!(PermissionSet::EMPTY.satisfies(Permission::Public));
        assert_eq!(rw.to_string(), "Read, Write");
        let ri = PermissionSet::of(&[Permission::Read, Permission::Ingest]);
        assert_eq!(rw.intersection(ri), PermissionSet::from(Permission::Read));
        assert_eq!(rw.union(ri).iter().count(), 3);
        assert_eq!(PermissionSet::from_bits(rw.bits()), Some(rw));
        assert_eq!(PermissionSet::from_bits(0x80), None);
        assert!(PermissionSet::ALL_GRANTABLE.contains_all(rw));
        assert!(!PermissionSet::ALL_GRANTABLE.contains(Permission::Public));
        let mut s: PermissionSet = [Permission::System].into_iter().collect();
        s.remove(Permission::System);
        assert!(s.is_empty());
    }
}
