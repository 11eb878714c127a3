//! User accounts: `api/users` list, create, read, update, delete and template.
//!
//! Managing accounts needs `Organization`; an account that holds (or would hold) `System` needs
//! `System`. Users may read their own account and change their display name, email address,
//! preferences and password without it (rule [`EntityRule::OwnAccountOrOrganization`]).
//! Passwords follow the policy and are hashed with argon2id off the runtime; a password change
//! signs the user out everywhere. The last administrator can be neither demoted nor deleted.
//! Changes are serialized by one lock (`AppState::accounts`), taken after password hashing, so
//! the checks see the accounts as they are when the change is written (two administrators
//! demoting each other at once cannot leave none).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seqr_meta::audit::AuditOutcome;
use seqr_meta::settings::{self, SettingName, SettingValue};
use seqr_meta::users::{self, CreateUserError, NewUser, UpdateUserError, UserEntity, UserUpdate};
use seqr_meta::{Permission, PermissionSet, password, roles};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::enforce::{ClientAddress, Principal, record, unix_now};
use crate::auth::rules::{Caller, EntityRule, check_account_admin, check_delegation};
use crate::error::ApiError;
use crate::filter_part::{DescriptiveFilterPart, strict_filter};
use crate::users::user_entity;

/// Longest view filter accepted.
const MAX_VIEW_FILTER_CHARS: usize = 4096;

/// `UserEntity` as sent; `None` means "not sent". Read-only members (`Id`, `Links`,
/// `AuthenticationProvider`...) are ignored.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UserPart {
    username: Option<String>,
    display_name: Option<Option<String>>,
    email_address: Option<Option<String>>,
    new_password: Option<String>,
    role_ids: Option<Vec<String>>,
    #[serde(deserialize_with = "present")]
    view_filter: Option<Option<DescriptiveFilterPart>>,
    must_change_password: Option<bool>,
    preferences: Option<Map<String, Value>>,
}

/// Distinguishes a member sent as `null` (`Some(None)`) from one not sent (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn parse_body(body: &Bytes) -> Result<UserPart, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("The body must be a UserEntity JSON object: {e}."))
    })
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::internal("The user account could not be read or stored because of a server problem.")
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No user with id `{id}` exists."))
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, message)
}

/// The view filter from a `DescriptiveFilterPart` (`None` clears it), parsed and compiled so
/// that only an expression that can be applied is ever stored.
fn view_filter_text(part: Option<DescriptiveFilterPart>) -> Result<Option<String>, ApiError> {
    strict_filter("ViewFilter", part, MAX_VIEW_FILTER_CHARS)
}

/// Administrators see everything; Seq gives them no view filter.
fn check_filter_allowed(
    permissions: PermissionSet,
    filter: &Option<String>,
) -> Result<(), ApiError> {
    if filter.is_some() && permissions.contains(Permission::System) {
        return Err(ApiError::bad_request(
            "Administrators (users holding System) cannot have a view filter; give the user a \
             less privileged role or remove the filter.",
        ));
    }
    Ok(())
}

fn role_permissions(role_ids: &[String]) -> Result<PermissionSet, ApiError> {
    if let Some(unknown) = role_ids.iter().find(|r| roles::by_id(r).is_none()) {
        return Err(ApiError::bad_request(format!(
            "RoleIds: `{unknown}` is not a role; `GET api/roles` lists them."
        )));
    }
    Ok(roles::permissions_of(role_ids.iter().map(String::as_str)))
}

/// The roles a new user gets when none are given: `NewUserRoleIds`, else read-only.
fn new_user_roles(state: &AppState) -> Result<Vec<String>, ApiError> {
    let stored = settings::get(&state.meta, SettingName::NewUserRoleIds)
        .map_err(|e| internal("reading NewUserRoleIds", e))?;
    let ids = match stored.map(|s| s.value) {
        Some(SettingValue::Json(Value::Array(ids))) => ids
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .filter(|id| roles::by_id(id).is_some())
            .collect(),
        _ => Vec::new(),
    };
    Ok(if ids.is_empty() {
        vec![roles::USER_READ_ONLY.to_owned()]
    } else {
        ids
    })
}

/// Refuses a change that would leave no user holding `System`.
fn check_keeps_an_administrator(
    state: &AppState,
    target: &UserEntity,
    after: PermissionSet,
) -> Result<(), ApiError> {
    if !target.permissions().contains(Permission::System) || after.contains(Permission::System) {
        return Ok(());
    }
    let admins = users::count_with_permission(&state.meta, Permission::System)
        .map_err(|e| internal("counting administrators", e))?;
    if admins <= 1 {
        return Err(ApiError::bad_request(
            "This is the last administrator (the only user holding System); make another user an \
             administrator first.",
        ));
    }
    Ok(())
}

async fn hash_new_password(
    state: &AppState,
    username: &str,
    new_password: String,
) -> Result<String, ApiError> {
    password::check_policy(username, &new_password)
        .map_err(|p| ApiError::bad_request(format!("NewPassword cannot be used: {p}.")))?;
    state
        .hasher
        .hash(new_password)
        .await
        .map_err(|e| internal("password hashing", e))
}

/// The caller as it is now, read under the account lock: a signed-in user demoted by a change
/// that finished while this request waited acts with the roles it has left.
fn current_caller(state: &AppState, caller: Principal) -> Result<Principal, ApiError> {
    let Principal::User {
        id,
        csrf_digest,
        view_filter,
        ..
    } = caller
    else {
        return Ok(caller);
    };
    let user = users::get(&state.meta, &id)
        .map_err(|e| internal("user lookup", e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Your account no longer exists; sign in again.",
            )
        })?;
    Ok(Principal::User {
        permissions: user.permissions(),
        id,
        csrf_digest,
        view_filter,
    })
}

fn load(state: &AppState, id: &str) -> Result<UserEntity, ApiError> {
    users::get(&state.meta, id)
        .map_err(|e| internal("user lookup", e))?
        .ok_or_else(|| not_found(id))
}

/// Whether the caller is the signed-in user `id`. Only a session counts: a personal API key
/// acts for its owner elsewhere, but changing the owner's account (above all the password) with
/// a key would turn a leaked key into the whole account.
fn is_self(caller: &Principal, id: &str) -> bool {
    matches!(caller, Principal::User { id: me, .. } if me == id)
}

/// `GET api/users` (Organization).
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = users::list(&state.meta).map_err(|e| internal("user listing", e))?;
    Ok(Json(Value::Array(
        all.iter().map(|u| user_entity(u, None)).collect(),
    )))
}

/// `GET api/users/template` (Organization).
pub(crate) async fn template(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "Id": null,
        "Username": "",
        "DisplayName": null,
        "EmailAddress": null,
        "NewPassword": null,
        "RoleIds": new_user_roles(&state)?,
        "MustChangePassword": true,
        "ViewFilter": null,
        "Preferences": {},
        "AuthenticationProvider": null,
        "AuthenticationProviderUniqueIdentifier": null,
        "Links": { "Create": "api/users/" },
    })))
}

/// `GET api/users/{id}`: one's own account, or anyone's with Organization.
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !is_self(&caller, &id) && !caller.holds(EntityRule::OwnAccountOrOrganization.elevated()) {
        return Err(forbidden(
            "Reading other users' accounts requires the Organization permission.",
        ));
    }
    Ok(Json(user_entity(&load(&state, &id)?, None)))
}

/// `POST api/users` (Organization): creates a local user with a password.
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    body: Bytes,
) -> Result<Response, ApiError> {
    let part = parse_body(&body)?;
    let username = part.username.unwrap_or_default().trim().to_owned();
    if username.is_empty() {
        return Err(ApiError::bad_request("A `Username` is required."));
    }
    let role_ids = match part.role_ids {
        Some(ids) if !ids.is_empty() => ids,
        _ => new_user_roles(&state)?,
    };
    let granted = role_permissions(&role_ids)?;
    check_account_admin(&caller, granted)?;
    check_delegation(&caller, granted)?;
    let view_filter = view_filter_text(part.view_filter.flatten())?;
    check_filter_allowed(granted, &view_filter)?;
    let Some(new_password) = part.new_password.filter(|p| !p.is_empty()) else {
        return Err(ApiError::bad_request(
            "A new local user needs a `NewPassword` (at least 12 characters); it must be changed \
             at first sign-in unless `MustChangePassword` is false.",
        ));
    };
    let hash = hash_new_password(&state, &username, new_password).await?;
    let _accounts = state.accounts.lock().await;
    let caller = current_caller(&state, caller)?;
    check_account_admin(&caller, granted)?;
    check_delegation(&caller, granted)?;
    let new = NewUser {
        id: None,
        username,
        display_name: part.display_name.flatten().filter(|d| !d.is_empty()),
        email_address: part.email_address.flatten().filter(|e| !e.is_empty()),
        role_ids,
        must_change_password: part.must_change_password.unwrap_or(true),
        view_filter,
        password_hash: Some(hash),
    };
    let mut created = users::create(&state.meta, &new, unix_now()).map_err(|e| match e {
        CreateUserError::UsernameTaken => ApiError::new(
            StatusCode::CONFLICT,
            "A user with this username already exists (usernames are compared without regard to case).",
        ),
        CreateUserError::EmptyUsername => ApiError::bad_request("A `Username` is required."),
        CreateUserError::UnknownRole(r) => {
            ApiError::bad_request(format!("RoleIds: `{r}` is not a role."))
        }
        other => internal("user creation", other),
    })?;
    if let Some(preferences) = part.preferences {
        let change = UserUpdate {
            preferences: Some(preferences),
            ..Default::default()
        };
        created = users::update(&state.meta, &created.id, &change)
            .map_err(|e| internal("storing preferences", e))?;
    }
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "user.create",
        Some(&created.id),
        AuditOutcome::Success,
        json!({ "Username": created.username, "RoleIds": created.role_ids }),
    );
    Ok((StatusCode::CREATED, Json(user_entity(&created, None))).into_response())
}

/// `PUT api/users/{id}`: users change their own display name, email address, preferences and
/// password; everything else (and anyone else's account) needs Organization.
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let part = parse_body(&body)?;
    let own = is_self(&caller, &id);
    if !own && !caller.holds(EntityRule::OwnAccountOrOrganization.elevated()) {
        return Err(forbidden(
            "Changing other users' accounts requires the Organization permission.",
        ));
    }
    // Hash before taking the account lock: hashing is slow, and the checks below must see the
    // accounts as they are when the change is written.
    let new_password = part.new_password.clone().filter(|p| !p.is_empty());
    let hash = match new_password {
        Some(p) => {
            let current = load(&state, &id)?;
            let name = part
                .username
                .as_deref()
                .map(str::trim)
                .unwrap_or(&current.username)
                .to_owned();
            Some(hash_new_password(&state, &name, p).await?)
        }
        None => None,
    };
    let _accounts = state.accounts.lock().await;
    let caller = current_caller(&state, caller)?;
    let target = load(&state, &id)?;

    let username = part
        .username
        .map(|u| u.trim().to_owned())
        .filter(|u| *u != target.username);
    let role_ids = part.role_ids.filter(|r| {
        let mut sorted = r.clone();
        sorted.sort();
        sorted.dedup();
        sorted != target.role_ids
    });
    let view_filter = match part.view_filter {
        None => None,
        Some(f) => Some(view_filter_text(f)?).filter(|f| *f != target.view_filter),
    };
    let must_change = part
        .must_change_password
        .filter(|m| *m != target.must_change_password);
    let after = match &role_ids {
        Some(ids) => role_permissions(ids)?,
        None => target.permissions(),
    };

    // What only an account administrator may change.
    let administrative: Vec<&str> = [
        username.is_some().then_some("Username"),
        role_ids.is_some().then_some("RoleIds"),
        view_filter.is_some().then_some("ViewFilter"),
        must_change.is_some().then_some("MustChangePassword"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !own || !administrative.is_empty() {
        if own && !caller.holds(Permission::Organization) {
            return Err(forbidden(format!(
                "Changing {} of an account requires the Organization permission; you may change \
                 your own DisplayName, EmailAddress, Preferences and password.",
                administrative.join(", ")
            )));
        }
        check_account_admin(&caller, target.permissions().union(after))?;
    }
    if role_ids.is_some() {
        // Nobody hands out a role holding more than they hold themselves.
        check_delegation(&caller, after)?;
    }
    let filter_after = match &view_filter {
        Some(f) => f.clone(),
        None => target.view_filter.clone(),
    };
    check_filter_allowed(after, &filter_after)?;
    check_keeps_an_administrator(&state, &target, after)?;

    let change = UserUpdate {
        username: username.clone(),
        display_name: part.display_name.map(|d| d.filter(|d| !d.is_empty())),
        email_address: part.email_address.map(|e| e.filter(|e| !e.is_empty())),
        role_ids: role_ids.clone(),
        must_change_password: must_change,
        view_filter,
        preferences: part.preferences,
    };
    let mut updated = users::update(&state.meta, &id, &change).map_err(|e| match e {
        UpdateUserError::NotFound => not_found(&id),
        UpdateUserError::UsernameTaken => ApiError::new(
            StatusCode::CONFLICT,
            "A user with this username already exists (usernames are compared without regard to case).",
        ),
        UpdateUserError::EmptyUsername => ApiError::bad_request("A `Username` is required."),
        UpdateUserError::UnknownRole(r) => {
            ApiError::bad_request(format!("RoleIds: `{r}` is not a role."))
        }
        other => internal("user update", other),
    })?;
    if let Some(hash) = &hash {
        // An administrator's reset must be changed at next sign-in unless the request turns the
        // flag off explicitly (clients echo the stored flag, so an unchanged `false` still
        // forces it); one's own new password need not be.
        let must = !own && must_change.unwrap_or(true);
        users::set_password(&state.meta, &id, hash, must, unix_now())
            .map_err(|e| internal("storing the password", e))?;
        updated = load(&state, &id)?;
        record(
            &state.meta,
            caller.audit_id(),
            client.0,
            "user.password.change",
            Some(&id),
            AuditOutcome::Success,
            json!({ "Reason": if own { "self" } else { "administrator" }, "SessionsRevoked": true }),
        );
    }
    // Delegated permissions of the user's personal keys follow the new roles at once.
    state.auth.keys.invalidate_all();
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "user.update",
        Some(&id),
        AuditOutcome::Success,
        json!({
            "Username": updated.username,
            "RoleIds": updated.role_ids,
            "Changed": {
                "Username": username.is_some(),
                "RoleIds": role_ids.is_some(),
                "ViewFilter": change.view_filter.is_some(),
                "Password": hash.is_some(),
            },
        }),
    );
    Ok(Json(user_entity(&updated, None)))
}

/// `DELETE api/users/{id}` (Organization; System for administrators): removes the account with
/// its sessions and personal API keys.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let _accounts = state.accounts.lock().await;
    let caller = current_caller(&state, caller)?;
    let target = load(&state, &id)?;
    check_account_admin(&caller, target.permissions())?;
    if is_self(&caller, &id) {
        return Err(ApiError::bad_request(
            "You cannot delete your own account; sign in as another account administrator.",
        ));
    }
    check_keeps_an_administrator(&state, &target, PermissionSet::EMPTY)?;
    users::delete(&state.meta, &id).map_err(|e| internal("user deletion", e))?;
    state.auth.keys.invalidate_all();
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "user.delete",
        Some(&id),
        AuditOutcome::Success,
        json!({ "Username": target.username }),
    );
    Ok(StatusCode::OK)
}
