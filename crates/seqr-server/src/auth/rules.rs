//! Per-entity rules: where Seq's demand depends on *which* entity is touched, a route declares
//! its base permission (enforced before the handler, like every route) and one of these named
//! rules, which the handler applies once it has loaded the entity. Both are in the route table.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use seqr_meta::{Permission, PermissionSet};

use crate::auth::enforce::Principal;
use crate::error::ApiError;

/// A rule a handler applies to the entity it acts on, on top of the route's base demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityRule {
    /// `api/users/{id}`: signed-in users may act on their own account; anyone else's needs
    /// `Organization`, an account holding `System` (or being given it) needs `System`, and no
    /// role may hold more than the caller does.
    OwnAccountOrOrganization,
    /// `api/apikeys`: callers manage their own personal keys (only an owner creates one); shared
    /// keys (no owner), the default key and other users' keys need `Project`. A key can only be
    /// given permissions its creator holds.
    OwnKeyOrProject,
}

impl EntityRule {
    /// The rule's name as the route table shows it.
    pub fn name(self) -> &'static str {
        match self {
            EntityRule::OwnAccountOrOrganization => "own-account-or-organization",
            EntityRule::OwnKeyOrProject => "own-key-or-project",
        }
    }

    /// What the rule adds to the base demand, for documentation and diagnostics.
    pub fn description(self) -> &'static str {
        match self {
            EntityRule::OwnAccountOrOrganization => {
                "own account; others need Organization (System for accounts holding System)"
            }
            EntityRule::OwnKeyOrProject => {
                "own personal keys; shared keys and others' keys need Project"
            }
        }
    }

    /// The permission that lets a caller act on any entity the rule covers.
    pub fn elevated(self) -> Permission {
        match self {
            EntityRule::OwnAccountOrOrganization => Permission::Organization,
            EntityRule::OwnKeyOrProject => Permission::Project,
        }
    }
}

impl fmt::Display for EntityRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Principal {
    /// What the caller holds: everything when authentication is off, nothing when anonymous.
    pub(crate) fn permissions(&self) -> PermissionSet {
        match self {
            Principal::Unrestricted => PermissionSet::ALL_GRANTABLE,
            Principal::Anonymous => PermissionSet::EMPTY,
            Principal::ApiKey(key) => key.permissions,
            Principal::User { permissions, .. } => *permissions,
        }
    }

    /// The user the caller acts as: the signed-in user, or a personal key's owner.
    pub(crate) fn user_id(&self) -> Option<&str> {
        match self {
            Principal::User { id, .. } => Some(id),
            Principal::ApiKey(key) => key.owner_id.as_deref(),
            Principal::Unrestricted | Principal::Anonymous => None,
        }
    }

    /// The view filter restricting what the caller reads (a user's, or a personal key owner's).
    pub(crate) fn view_filter(&self) -> Option<&str> {
        match self {
            Principal::User { view_filter, .. } => view_filter.as_deref(),
            Principal::ApiKey(key) => key.view_filter.as_deref(),
            Principal::Unrestricted | Principal::Anonymous => None,
        }
    }

    /// Whether the caller holds `permission`.
    pub(crate) fn holds(&self, permission: Permission) -> bool {
        self.permissions().contains(permission)
    }
}

/// The caller, as the enforcement layer identified it (anonymous on routes that are Public).
pub(crate) struct Caller(pub(crate) Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, Self::Rejection> {
        Ok(Caller(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or(Principal::Anonymous),
        ))
    }
}

/// The refusal when a rule is not met.
fn refused(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, message)
}

/// [`EntityRule::OwnKeyOrProject`]: may `caller` manage a key owned by `owner` (`None` for a
/// shared key or the default key)?
pub(crate) fn check_key_owner(caller: &Principal, owner: Option<&str>) -> Result<(), ApiError> {
    if caller.holds(EntityRule::OwnKeyOrProject.elevated()) {
        return Ok(());
    }
    match owner {
        Some(owner) if caller.user_id() == Some(owner) => Ok(()),
        Some(_) => Err(refused(
            "This is another user's personal API key; managing it requires the Project permission.",
        )),
        None => Err(refused(
            "Shared API keys (keys without an owner) are managed by principals with the Project \
             permission; create a personal key instead (OwnerId set to your user id).",
        )),
    }
}

/// A principal can only hand out permissions it holds itself (Seq's delegation rule).
pub(crate) fn check_delegation(caller: &Principal, granted: PermissionSet) -> Result<(), ApiError> {
    let missing: Vec<String> = granted
        .iter()
        .filter(|p| !caller.holds(*p))
        .map(|p| p.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Permissions can only be granted by a principal holding them; you do not hold {}.",
                missing.join(", ")
            ),
        ))
    }
}

/// [`EntityRule::OwnAccountOrOrganization`]: may `caller` administer an account whose
/// permissions are `target_permissions` (before and after the change)?
pub(crate) fn check_account_admin(
    caller: &Principal,
    target_permissions: PermissionSet,
) -> Result<(), ApiError> {
    if !caller.holds(EntityRule::OwnAccountOrOrganization.elevated()) {
        return Err(refused(
            "Managing other users' accounts requires the Organization permission.",
        ));
    }
    if target_permissions.contains(Permission::System) && !caller.holds(Permission::System) {
        return Err(refused(
            "This account holds (or would hold) the System permission; only a principal with System \
             may manage it.",
        ));
    }
    Ok(())
}
