//! `api/apikeys`: Seq's `ApiKeyEntity` CRUD (seq-compat 4.4, 1.9).
//!
//! A new key's token is generated (about 190 bits) unless a Project principal supplies one for
//! a shared key; it is answered once, in the create response, and only its salted digest and a
//! four-character `TokenPrefix` are stored. Personal keys are created only by their owner (a
//! key acts as its owner, so nobody may hold a token for another's account); shared keys, the
//! tokenless default key and other users' keys are managed with `Project` (rule
//! [`EntityRule::OwnKeyOrProject`]). No key can be given a permission its creator lacks, and a
//! caller with a view filter cannot create shared keys, which would read without it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seqr_meta::apikeys::{
    self, ApiKeyCounts, ApiKeyEntity, ApiKeyUpdate, AppliedProperty, CreateApiKeyError,
    DeleteApiKeyError, InputSettings, NewApiKey, UpdateApiKeyError,
};
use seqr_meta::audit::AuditOutcome;
use seqr_meta::{Permission, PermissionSet, token};
use seqr_types::level::CanonicalLevel;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::enforce::{ClientAddress, Principal, record, unix_now};
use crate::auth::rules::{Caller, EntityRule, check_delegation, check_key_owner};
use crate::error::ApiError;
use crate::filter_part::{DescriptiveFilterPart, strict_filter};

/// Shortest token a caller may choose for a shared key (generated ones are 32 characters).
const MIN_CHOSEN_TOKEN_CHARS: usize = 16;
/// Most applied properties on one key.
const MAX_APPLIED_PROPERTIES: usize = 100;
/// Longest arrival filter accepted (it is evaluated for every event the key sends).
const MAX_ARRIVAL_FILTER_CHARS: usize = 4096;
/// Most bytes (names and JSON values) of a key's applied properties: they are copied into every
/// event, so they must stay small next to the events themselves.
const MAX_APPLIED_PROPERTY_BYTES: usize = 16 * 1024;

/// `InputSettingsPart` as sent.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct InputSettingsPart {
    applied_properties: Vec<AppliedPropertyPart>,
    filter: Option<DescriptiveFilterPart>,
    minimum_level: Option<String>,
    use_server_timestamps: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AppliedPropertyPart {
    name: String,
    #[serde(default)]
    value: Value,
}

/// `ApiKeyEntity` as sent; members a client echoes back (`Id`, `Links`, `InputMetrics`) are
/// ignored.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ApiKeyPart {
    title: Option<String>,
    token: Option<String>,
    owner_id: Option<String>,
    assigned_permissions: Option<Vec<String>>,
    input_settings: Option<InputSettingsPart>,
}

fn parse_body(body: &Bytes) -> Result<ApiKeyPart, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be an ApiKeyEntity JSON object: {e}."
        ))
    })
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::internal("The API key could not be read or stored because of a server problem.")
}

fn permissions(names: &[String]) -> Result<PermissionSet, ApiError> {
    let mut set = PermissionSet::EMPTY;
    for name in names {
        let p: Permission = name
            .parse()
            .map_err(|e| ApiError::bad_request(format!("AssignedPermissions: {e}.")))?;
        if p == Permission::Public {
            return Err(ApiError::bad_request(
                "AssignedPermissions: `Public` is what unauthenticated callers hold; it cannot be \
                 assigned to a key.",
            ));
        }
        set.insert(p);
    }
    Ok(set)
}

fn input_settings(part: InputSettingsPart) -> Result<InputSettings, ApiError> {
    let filter = strict_filter(
        "InputSettings.Filter",
        part.filter,
        MAX_ARRIVAL_FILTER_CHARS,
    )?;
    let minimum_level = match part.minimum_level.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(level) => Some(
            CanonicalLevel::from_alias(level)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "InputSettings.MinimumLevel: `{}` is not a level; use Verbose, Debug, \
                         Information, Warning, Error or Fatal.",
                        level.chars().take(40).collect::<String>()
                    ))
                })?
                .name()
                .to_owned(),
        ),
    };
    if part.applied_properties.len() > MAX_APPLIED_PROPERTIES {
        return Err(ApiError::bad_request(format!(
            "InputSettings.AppliedProperties: at most {MAX_APPLIED_PROPERTIES} properties."
        )));
    }
    let mut applied_properties = Vec::with_capacity(part.applied_properties.len());
    for p in part.applied_properties {
        if p.name.trim().is_empty() {
            return Err(ApiError::bad_request(
                "InputSettings.AppliedProperties: every property needs a `Name`.",
            ));
        }
        applied_properties.push(AppliedProperty {
            name: p.name,
            value: p.value,
        });
    }
    let bytes: usize = applied_properties
        .iter()
        .map(|p| p.name.len() + p.value.to_string().len())
        .sum();
    if bytes > MAX_APPLIED_PROPERTY_BYTES {
        return Err(ApiError::bad_request(format!(
            "InputSettings.AppliedProperties: {bytes} bytes of names and values, over the \
             {MAX_APPLIED_PROPERTY_BYTES}-byte limit (they are copied into every event)."
        )));
    }
    Ok(InputSettings {
        applied_properties,
        filter,
        minimum_level,
        use_server_timestamps: part.use_server_timestamps,
    })
}

fn counts_json(c: &ApiKeyCounts) -> Value {
    json!({
        "ArrivedEvents": c.arrived_events,
        "ArrivedBytes": c.arrived_bytes,
        "IngestedEvents": c.ingested_events,
        "IngestedBytes": c.ingested_bytes,
        "InvalidPayloads": c.invalid_payloads,
    })
}

/// The entity as answered: `Token` only when just generated.
fn entity(state: &AppState, key: &ApiKeyEntity, token: Option<&str>) -> Value {
    let s = &key.input_settings;
    let pending = state.counters.pending(&key.id);
    let total = ApiKeyCounts {
        arrived_events: key.counts.arrived_events + pending.arrived_events,
        arrived_bytes: key.counts.arrived_bytes + pending.arrived_bytes,
        ingested_events: key.counts.ingested_events + pending.ingested_events,
        ingested_bytes: key.counts.ingested_bytes + pending.ingested_bytes,
        invalid_payloads: key.counts.invalid_payloads + pending.invalid_payloads,
    };
    let minute = state.counters.last_minute(&key.id, unix_now());
    json!({
        "Id": key.id,
        "Title": key.title,
        "Token": token,
        "TokenPrefix": key.token_prefix,
        "InputSettings": {
            "AppliedProperties": s.applied_properties.iter()
                .map(|p| json!({ "Name": p.name, "Value": p.value }))
                .collect::<Vec<_>>(),
            "Filter": {
                "Description": null,
                "DescriptionIsExcluded": false,
                "Filter": s.filter,
                "FilterNonStrict": null,
            },
            "MinimumLevel": s.minimum_level,
            "UseServerTimestamps": s.use_server_timestamps,
        },
        "IsDefault": key.is_default,
        "OwnerId": key.owner_id,
        "AssignedPermissions": key.assigned_permissions.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>(),
        "InputMetrics": {
            "ArrivedEventsPerMinute": minute.arrived_events,
            "IngestedEventsPerMinute": minute.ingested_events,
            "IngestedBytesPerMinute": minute.ingested_bytes,
            "InvalidPayloadsPerMinute": minute.invalid_payloads,
        },
        // seqr addition: totals since the key was created.
        "Counts": counts_json(&total),
        "Links": { "Self": format!("api/apikeys/{}", key.id) },
    })
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No API key with id `{id}` exists."))
}

/// Loads a key the caller may manage (404 for unknown ids, 403 when the rule refuses).
fn load_managed(state: &AppState, caller: &Principal, id: &str) -> Result<ApiKeyEntity, ApiError> {
    let key = apikeys::get(&state.meta, id)
        .map_err(|e| internal("API key lookup", e))?
        .ok_or_else(|| not_found(id))?;
    check_key_owner(caller, key.owner_id.as_deref())?;
    Ok(key)
}

/// A caller whose reads are restricted by a view filter must not mint a shared key (which has no
/// view filter) and read everything through it.
fn check_shared_key_without_view_filter(
    caller: &Principal,
    owner: Option<&str>,
) -> Result<(), ApiError> {
    if owner.is_none() && caller.view_filter().is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Your account has a view filter, so it cannot create or change shared API keys (they \
             would read without it); use a personal key, which carries your view filter.",
        ));
    }
    Ok(())
}

/// The query's value for `name` (case-insensitive), if present and not empty.
fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    crate::query::pairs(query.unwrap_or(""))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// `GET api/apikeys{?ownerId,shared}`: a Project principal sees every key; anyone else only
/// their personal keys.
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    // Seq.Api's filters: `ownerId` includes that user's keys, `shared=True` the shared ones;
    // with neither, every key the caller may see.
    let owner = query_value(query.as_deref(), "ownerId");
    let shared =
        query_value(query.as_deref(), "shared").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let keys = if caller.holds(EntityRule::OwnKeyOrProject.elevated()) {
        apikeys::list(&state.meta).map_err(|e| internal("API key listing", e))?
    } else {
        match caller.user_id() {
            Some(me) => apikeys::list_owned_by(&state.meta, me)
                .map_err(|e| internal("API key listing", e))?,
            None => Vec::new(),
        }
    };
    let shown = keys
        .iter()
        .filter(|k| {
            owner
                .as_deref()
                .is_none_or(|o| k.owner_id.as_deref() == Some(o))
        })
        .filter(|k| !shared || k.owner_id.is_none())
        .map(|k| entity(&state, k, None))
        .collect();
    Ok(Json(Value::Array(shown)))
}

/// `GET api/apikeys/{id}`.
pub(crate) async fn by_id(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = load_managed(&state, &caller, &id)?;
    Ok(Json(entity(&state, &key, None)))
}

/// `GET api/apikeys/template`: a new key as the caller would create it (a personal key unless
/// the caller manages shared keys).
pub(crate) async fn template(Caller(caller): Caller) -> Json<Value> {
    let owner = if caller.holds(Permission::Project) {
        None
    } else {
        caller.user_id().map(str::to_owned)
    };
    Json(json!({
        "Id": null,
        "Title": "",
        "Token": null,
        "TokenPrefix": null,
        "InputSettings": {
            "AppliedProperties": [],
            "Filter": { "Description": null, "DescriptionIsExcluded": false, "Filter": null, "FilterNonStrict": null },
            "MinimumLevel": null,
            "UseServerTimestamps": false,
        },
        "IsDefault": false,
        "OwnerId": owner,
        "AssignedPermissions": ["Ingest"],
        "Links": { "Create": "api/apikeys/" },
    }))
}

/// `POST api/apikeys`: creates a key; the answer carries the token, this once.
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    body: Bytes,
) -> Result<Response, ApiError> {
    let part = parse_body(&body)?;
    let title = part.title.unwrap_or_default();
    if title.trim().is_empty() {
        return Err(ApiError::bad_request("An API key needs a `Title`."));
    }
    let owner = part.owner_id.filter(|o| !o.is_empty());
    // Never a token for someone else's account, whatever the caller's permissions: a key acts
    // as its owner.
    if let Some(o) = &owner
        && caller.user_id() != Some(o.as_str())
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "A personal API key can only be created by its owner (OwnerId must be your user id).",
        ));
    }
    check_key_owner(&caller, owner.as_deref())?;
    check_shared_key_without_view_filter(&caller, owner.as_deref())?;
    // Seq's default for a new key is Ingest.
    let assigned = match part.assigned_permissions.as_deref() {
        None | Some([]) => PermissionSet::of(&[Permission::Ingest]),
        Some(names) => permissions(names)?,
    };
    check_delegation(&caller, assigned)?;
    let settings = input_settings(part.input_settings.unwrap_or_default())?;

    let chosen = part.token.filter(|t| !t.is_empty());
    let token = match chosen {
        Some(_) if owner.is_some() => {
            return Err(ApiError::bad_request(
                "Personal API keys always get a generated token; leave `Token` empty.",
            ));
        }
        Some(t)
            if t.chars().count() < MIN_CHOSEN_TOKEN_CHARS
                || !t.chars().all(|c| c.is_ascii_graphic()) =>
        {
            return Err(ApiError::bad_request(format!(
                "A chosen `Token` must be at least {MIN_CHOSEN_TOKEN_CHARS} printable ASCII \
                 characters without spaces; leave it empty to have a strong one generated."
            )));
        }
        Some(t) => t,
        None => token::ApiKeyToken::generate().as_str().to_owned(),
    };
    let prefix = token::prefix_of(&token)
        .expect("tokens are longer than the prefix")
        .to_owned();
    let salt = token::new_salt();
    let new = NewApiKey {
        title,
        token_prefix: prefix,
        token_salt: salt.to_vec(),
        token_digest: token::digest(&salt, &token).to_vec(),
        owner_id: owner,
        assigned_permissions: assigned,
        input_settings: settings,
    };
    let created = apikeys::create(&state.meta, &new, unix_now()).map_err(|e| match e {
        CreateApiKeyError::UnknownOwner => ApiError::bad_request("`OwnerId` does not name a user."),
        CreateApiKeyError::EmptyTitle => ApiError::bad_request("An API key needs a `Title`."),
        other => internal("API key creation", other),
    })?;
    state.auth.keys.invalidate_all();
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "apikey.create",
        Some(&created.id),
        AuditOutcome::Success,
        json!({
            "Title": created.title,
            "OwnerId": created.owner_id,
            "AssignedPermissions": created.assigned_permissions.to_string(),
        }),
    );
    let body = entity(&state, &created, Some(&token));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `PUT api/apikeys/{id}`: changes the title, permissions or input settings; the token and
/// owner cannot change.
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let key = load_managed(&state, &caller, &id)?;
    check_shared_key_without_view_filter(&caller, key.owner_id.as_deref())?;
    let part = parse_body(&body)?;
    if part.owner_id.as_deref().filter(|o| !o.is_empty()) != key.owner_id.as_deref()
        && part.owner_id.is_some()
    {
        return Err(ApiError::bad_request(
            "An API key's `OwnerId` cannot change; create a new key instead.",
        ));
    }
    let assigned = match part.assigned_permissions.as_deref() {
        None => None,
        Some(names) => Some(permissions(names)?),
    };
    if key.is_default && assigned.is_some_and(|a| a != key.assigned_permissions) {
        return Err(ApiError::bad_request(
            "The default key (requests without a key) only ever grants Ingest; change the \
             `setting-requireapikeyforwritingevents` setting to refuse keyless ingestion.",
        ));
    }
    if let Some(a) = assigned {
        // Only what is added needs to be held; keeping a permission one cannot grant is fine.
        let added = PermissionSet::from_bits(a.bits() & !key.assigned_permissions.bits())
            .unwrap_or_default();
        check_delegation(&caller, added)?;
    }
    let input = part.input_settings.map(input_settings).transpose()?;
    let change = ApiKeyUpdate {
        title: part.title.filter(|t| *t != key.title),
        assigned_permissions: assigned,
        input_settings: input,
    };
    let updated = apikeys::update(&state.meta, &id, &change).map_err(|e| match e {
        UpdateApiKeyError::NotFound => not_found(&id),
        UpdateApiKeyError::EmptyTitle => ApiError::bad_request("An API key needs a `Title`."),
        other => internal("API key update", other),
    })?;
    state.auth.keys.invalidate_all();
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "apikey.update",
        Some(&id),
        AuditOutcome::Success,
        json!({
            "Title": updated.title,
            "AssignedPermissions": updated.assigned_permissions.to_string(),
        }),
    );
    Ok(Json(entity(&state, &updated, None)))
}

/// `DELETE api/apikeys/{id}`: the key stops working at once.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = load_managed(&state, &caller, &id)?;
    apikeys::delete(&state.meta, &id).map_err(|e| match e {
        DeleteApiKeyError::NotFound => not_found(&id),
        DeleteApiKeyError::IsDefault => ApiError::bad_request(
            "The default key stands for requests without a key and cannot be deleted; set \
             `setting-requireapikeyforwritingevents` to refuse them.",
        ),
        other => internal("API key deletion", other),
    })?;
    state.auth.keys.invalidate_all();
    state.counters.remove(&id);
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "apikey.delete",
        Some(&id),
        AuditOutcome::Success,
        json!({ "Title": key.title }),
    );
    Ok(StatusCode::OK)
}

/// `GET api/apikeys/resources`.
pub(crate) async fn resources() -> Json<Value> {
    Json(json!({
        "Links": {
            "Items": "api/apikeys/{?ownerId,shared}",
            "Item": "api/apikeys/{id}",
            "Template": "api/apikeys/template",
        }
    }))
}
