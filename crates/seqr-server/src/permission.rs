//! Seq's permissions. Every route declares one; enforcement arrives with the security core.

use std::fmt;

/// What a caller must hold to use a route (Seq's names and meanings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Anyone, signed in or not: sign-in, discovery, health.
    Public,
    /// Send events.
    Ingest,
    /// Search and query events, read shared entities.
    Read,
    /// Change one's own and shared entities.
    Write,
    /// Project-wide settings: signals, retention, API keys of others.
    Project,
    /// Users and roles.
    Organization,
    /// Server administration: backups, storage, settings.
    System,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::Public => "Public",
            Permission::Ingest => "Ingest",
            Permission::Read => "Read",
            Permission::Write => "Write",
            Permission::Project => "Project",
            Permission::Organization => "Organization",
            Permission::System => "System",
        })
    }
}
