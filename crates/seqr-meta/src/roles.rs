//! Seq's six built-in roles (seq-compat 4.2). Roles are fixed: they live in code, not in the
//! database; `user_roles` rows name them by id.
//!
//! Seq documents only two ids, `role-administrator` and `role-user` (the pre-2022.1 ids). The
//! other four ids are seqr's choice, in the same style.

use crate::permission::{Permission, PermissionSet};

/// A built-in role, as `GET api/roles` returns it (`RoleEntity {Id, Title, Permissions, Description}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleEntity {
    /// `Id`, e.g. `role-administrator`.
    pub id: &'static str,
    /// `Title`, e.g. `Administrator`.
    pub title: &'static str,
    /// `Permissions`.
    pub permissions: PermissionSet,
    /// `Description`.
    pub description: &'static str,
}

use Permission::{Ingest, Organization, Project, Read, System, Write};

/// Id of the read-only user role.
pub const USER_READ_ONLY: &str = "role-user-readonly";
/// Id of the read/write user role.
pub const USER_READ_WRITE: &str = "role-user-readwrite";
/// Id of the read/write/ingest user role (Seq's legacy `role-user`).
pub const USER_READ_WRITE_INGEST: &str = "role-user";
/// Id of the Project Owner role.
pub const PROJECT_OWNER: &str = "role-project-owner";
/// Id of the Organization Administrator role.
pub const ORGANIZATION_ADMINISTRATOR: &str = "role-organization-administrator";
/// Id of the Administrator role.
pub const ADMINISTRATOR: &str = "role-administrator";

/// The built-in roles, least to most privileged.
pub const BUILT_IN: [RoleEntity; 6] = [
    RoleEntity {
        id: USER_READ_ONLY,
        title: "User (read-only)",
        permissions: PermissionSet::of(&[Read]),
        description: "Search and view events, signals, queries and dashboards.",
    },
    RoleEntity {
        id: USER_READ_WRITE,
        title: "User (read/write)",
        permissions: PermissionSet::of(&[Read, Write]),
        description: "Read, and create or change signals, queries, dashboards, alerts and personal API keys.",
    },
    RoleEntity {
        id: USER_READ_WRITE_INGEST,
        title: "User (read/write/ingest)",
        permissions: PermissionSet::of(&[Read, Write, Ingest]),
        description: "Read and write, and send events.",
    },
    RoleEntity {
        id: PROJECT_OWNER,
        title: "Project Owner",
        permissions: PermissionSet::of(&[Read, Write, Ingest, Project]),
        description: "All user permissions, and manage ingestion, storage and alerting: shared API keys, retention policies, deleting events.",
    },
    RoleEntity {
        id: ORGANIZATION_ADMINISTRATOR,
        title: "Organization Administrator",
        permissions: PermissionSet::of(&[Read, Write, Ingest, Project, Organization]),
        description: "Project Owner, and manage user accounts.",
    },
    RoleEntity {
        id: ADMINISTRATOR,
        title: "Administrator",
        permissions: PermissionSet::of(&[Read, Write, Ingest, Project, Organization, System]),
        description: "Unrestricted access, including server settings, backups, apps and diagnostics.",
    },
];

/// The built-in role with this id (exact match).
pub fn by_id(id: &str) -> Option<&'static RoleEntity> {
    BUILT_IN.iter().find(|r| r.id == id)
}

/// The union of the permissions of the roles named by `role_ids`; unknown ids grant nothing.
pub fn permissions_of<'a>(role_ids: impl IntoIterator<Item = &'a str>) -> PermissionSet {
    role_ids
        .into_iter()
        .filter_map(by_id)
        .fold(PermissionSet::EMPTY, |acc, r| acc.union(r.permissions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_roles_with_seqs_permissions() {
        assert_eq!(BUILT_IN.len(), 6);
        let admin = by_id("role-administrator").unwrap();
        assert_eq!(admin.title, "Administrator");
        assert_eq!(admin.permissions, PermissionSet::ALL_GRANTABLE);
        assert_eq!(
            by_id("role-user").unwrap().permissions.to_string(),
            "Ingest, Read, Write"
        );
        assert_eq!(
            by_id(USER_READ_ONLY).unwrap().permissions.to_string(),
            "Read"
        );
        assert!(
            by_id(ORGANIZATION_ADMINISTRATOR)
                .unwrap()
                .permissions
                .contains_all(by_id(PROJECT_OWNER).unwrap().permissions)
        );
        // Ids are unique; each role strictly extends the previous one.
        for w in BUILT_IN.windows(2) {
            assert_ne!(w[0].id, w[1].id);
            assert!(w[1].permissions.contains_all(w[0].permissions));
            assert_ne!(w[1].permissions, w[0].permissions);
        }
        assert!(by_id("role-nope").is_none());
    }

    #[test]
    fn effective_permissions_are_the_union() {
        let p = permissions_of([USER_READ_ONLY, "unknown", USER_READ_WRITE]);
        assert_eq!(p.to_string(), "Read, Write");
        assert!(permissions_of([]).is_empty());
    }
}
