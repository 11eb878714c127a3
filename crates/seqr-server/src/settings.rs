//! `api/settings`: Seq's runtime settings (`SettingEntity {Id, Name, Value}`, seq-compat 1.7 and
//! 3.10), read and changed while the server runs.
//!
//! Reading and changing settings demands `System`, except the four the sign-in page needs
//! before anyone signs in (authentication provider, instance title, whether authentication is
//! on, Active Directory), which are `Public` to read. Values are checked against each setting's
//! kind; sensitive ones (client secrets) are sealed with the instance secret key and never
//! answered back. A change to a value the request path uses takes effect at once.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use seqr_meta::audit::AuditOutcome;
use seqr_meta::roles;
use seqr_meta::settings::{self, SettingName, SettingValue};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::enforce::{ClientAddress, record, unix_now};
use crate::auth::rules::Caller;
use crate::error::ApiError;

/// The settings anyone may read (what the sign-in page shows before anyone signs in), as the
/// route table's paths: exactly the settings `SettingName::is_public` marks (see the test).
pub(crate) const PUBLIC_SETTING_PATHS: [&str; 4] = [
    "/api/settings/setting-authenticationprovider",
    "/api/settings/setting-instancetitle",
    "/api/settings/setting-isactivedirectoryauthentication",
    "/api/settings/setting-isauthenticationenabled",
];

/// The type of value a setting holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    /// A whole number of bytes, milliseconds or a count; `positive` refuses 0.
    Count {
        positive: bool,
    },
    Text,
    /// `HH:MM` or `HH:MM:SS` (Seq's TimeSpan form), UTC.
    TimeOfDay,
    /// An array of strings.
    TextList,
    /// A JSON object.
    Object,
    /// A secret: written sealed, never read back.
    Secret,
    /// Decided by start-up configuration or by what this build supports.
    ReadOnly,
}

fn kind(name: SettingName) -> Kind {
    use SettingName::*;
    match name {
        RequireApiKeyForWritingEvents
        | CheckForUpdates
        | CheckForPackageUpdates
        | AutomaticallyProvisionAuthenticatedUsers
        | SecretKeyIsBackedUp => Kind::Bool,
        RawEventMaximumContentLength | RawPayloadMaximumContentLength => {
            Kind::Count { positive: true }
        }
        MinimumFreeStorageSpace
        | BackupsToKeep
        | DataAgeWarningThresholdMilliseconds
        | TargetReplicaCount => Kind::Count { positive: false },
        NewUserRoleIds | NewUserShowDashboardIds | NewUserShowQueryIds | NewUserShowSignalIds => {
            Kind::TextList
        }
        NewUserPreferences => Kind::Object,
        BackupUtcTimeOfDay => Kind::TimeOfDay,
        EntraIDClientKey | OpenIdConnectClientSecret => Kind::Secret,
        AuthenticationProvider | IsAuthenticationEnabled | IsActiveDirectoryAuthentication => {
            Kind::ReadOnly
        }
        _ => Kind::Text,
    }
}

/// The value a setting has while nothing is stored.
fn default_value(state: &AppState, name: SettingName) -> Value {
    use SettingName::*;
    let limits = seqr_ingest::Limits::default();
    match name {
        IsAuthenticationEnabled => Value::Bool(state.auth.enabled),
        IsActiveDirectoryAuthentication
        | RequireApiKeyForWritingEvents
        | CheckForUpdates
        | CheckForPackageUpdates
        | AutomaticallyProvisionAuthenticatedUsers
        | SecretKeyIsBackedUp => Value::Bool(false),
        RawEventMaximumContentLength => limits.max_event_bytes.into(),
        RawPayloadMaximumContentLength => limits.max_body_bytes.into(),
        MinimumFreeStorageSpace | DataAgeWarningThresholdMilliseconds => 0.into(),
        BackupsToKeep => crate::backup::DEFAULT_BACKUPS_TO_KEEP.into(),
        BackupUtcTimeOfDay => crate::backup::schedule::DEFAULT_TIME_OF_DAY_TEXT.into(),
        TargetReplicaCount => 1.into(),
        NewUserRoleIds => json!([roles::USER_READ_ONLY]),
        NewUserShowDashboardIds | NewUserShowQueryIds | NewUserShowSignalIds => json!([]),
        NewUserPreferences => json!({}),
        _ => Value::Null,
    }
}

/// The value answered for `name`: what is stored, else the default. Secrets are never answered.
fn current_value(state: &AppState, name: SettingName) -> Result<Value, ApiError> {
    match kind(name) {
        Kind::Secret => return Ok(Value::Null),
        Kind::ReadOnly => return Ok(default_value(state, name)),
        _ => {}
    }
    let stored = settings::get(&state.meta, name).map_err(|e| internal("reading a setting", e))?;
    Ok(match stored.map(|s| s.value) {
        Some(SettingValue::Json(v)) if !v.is_null() => v,
        // An explicit null (or nothing) means the default; for the API-key requirement that is
        // "decided by the listening addresses", shown as the rule's current outcome.
        _ if name == SettingName::RequireApiKeyForWritingEvents => {
            Value::Bool(!state.runtime.anonymous_ingest())
        }
        _ => default_value(state, name),
    })
}

fn entity(state: &AppState, name: SettingName) -> Result<Value, ApiError> {
    let id = name.id();
    let mut e = json!({
        "Id": id,
        "Name": name.name(),
        "Value": current_value(state, name)?,
        "Links": { "Self": format!("api/settings/{id}") },
    });
    if kind(name) == Kind::Secret {
        let has_value = settings::get(&state.meta, name)
            .map_err(|e| internal("reading a setting", e))?
            .is_some_and(|s| matches!(s.value, SettingValue::Sealed(_)));
        // seqr addition: whether a secret is stored, since its value is never shown.
        e["HasValue"] = Value::Bool(has_value);
    }
    Ok(e)
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::internal("The settings could not be read or stored because of a server problem.")
}

/// The setting a request path names: `api/settings/setting-instancetitle` (Seq's ids), or the
/// bare name (`api/settings/InstanceTitle`), both without regard to case.
fn named(uri: &Uri) -> Result<SettingName, ApiError> {
    let last = uri
        .path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    SettingName::from_id(last)
        .or_else(|| SettingName::from_name(last))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No setting `{}` exists; `GET api/settings` lists them.",
                last.chars().take(80).collect::<String>()
            ))
        })
}

/// `GET api/settings`: every setting with its current value (System).
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all: Result<Vec<Value>, ApiError> = SettingName::ALL
        .iter()
        .map(|n| entity(&state, *n))
        .collect();
    Ok(Json(Value::Array(all?)))
}

/// `GET api/settings/{id}` (System) and the public sign-in settings (Public).
pub(crate) async fn get(State(state): State<AppState>, uri: Uri) -> Result<Json<Value>, ApiError> {
    Ok(Json(entity(&state, named(&uri)?)?))
}

/// Why a value does not fit its setting, as the message answered with 400.
fn check_value(name: SettingName, value: &Value) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let expected = match kind(name) {
        Kind::Bool if value.is_boolean() => return Ok(()),
        Kind::Bool => "true or false",
        Kind::Count { positive } => match value.as_u64() {
            Some(0) if positive => "a number greater than zero",
            Some(_) => return Ok(()),
            None => "a whole number of at least zero",
        },
        Kind::Text | Kind::Secret if value.is_string() => return Ok(()),
        Kind::Text | Kind::Secret => "a string",
        Kind::TimeOfDay
            if value
                .as_str()
                .and_then(crate::backup::schedule::parse_time_of_day)
                .is_some() =>
        {
            return Ok(());
        }
        Kind::TimeOfDay => "a UTC time of day such as \"02:00\" or \"23:30:00\"",
        Kind::TextList => match value.as_array() {
            Some(items) if items.iter().all(Value::is_string) => {
                if name == SettingName::NewUserRoleIds
                    && let Some(unknown) = items
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|id| roles::by_id(id).is_none())
                {
                    return Err(format!(
                        "`{unknown}` is not a role id; `GET api/roles` lists them"
                    ));
                }
                return Ok(());
            }
            _ => "an array of strings",
        },
        Kind::Object if value.is_object() => return Ok(()),
        Kind::Object => "a JSON object",
        Kind::ReadOnly => {
            return Err(match name {
                SettingName::IsAuthenticationEnabled => "it follows start-up configuration \
                    (authentication is on unless the server runs with --no-authentication)"
                    .into(),
                _ => "seqr supports only local username and password sign-in today".into(),
            });
        }
    };
    Err(format!("its value must be {expected}"))
}

/// `PUT api/settings/{id}` (System): stores `Value` from a `SettingEntity` body. `null` returns
/// the setting to its default.
pub(crate) async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let name = named(&uri)?;
    let body: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be a SettingEntity such as {{\"Value\": ...}}: {e}."
        ))
    })?;
    let Some(value) = body.get("Value").cloned() else {
        return Err(ApiError::bad_request(
            "The body must be a SettingEntity with a `Value` member (null restores the default).",
        ));
    };
    if let Some(sent) = body.get("Name").and_then(Value::as_str)
        && !sent.eq_ignore_ascii_case(name.name())
    {
        return Err(ApiError::bad_request(format!(
            "The body names setting `{sent}` but the path names `{}`.",
            name.name()
        )));
    }
    check_value(name, &value).map_err(|why| {
        ApiError::bad_request(format!("Setting {} cannot be changed: {why}.", name.name()))
    })?;

    let stored = match (kind(name), value) {
        (_, Value::Null) => None,
        (Kind::Secret, Value::String(secret)) => Some(settings::seal_value(
            &state.secret_key,
            name,
            secret.as_bytes(),
        )),
        (_, v) => Some(SettingValue::Json(v)),
    };
    let by = caller.user_id().map(str::to_owned);
    let db = state.meta.clone();
    let changed = stored.is_some();
    let runtime = state.runtime.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        match &stored {
            Some(v) => settings::set(&db, name, v, by.as_deref(), unix_now()),
            None => settings::clear(&db, name)
                .map(|_| ())
                .map_err(settings::SetSettingError::from),
        }?;
        // The request path sees the new value from the next request on.
        runtime.reload(&db).map_err(settings::SetSettingError::from)
    })
    .await
    .map_err(|e| internal("storing a setting", e))?;
    outcome.map_err(|e| internal("storing a setting", e))?;
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "setting.change",
        Some(&name.id()),
        AuditOutcome::Success,
        // Never the value of a secret; other values are useful in the trail.
        if kind(name) == Kind::Secret {
            json!({ "Name": name.name(), "Cleared": !changed })
        } else {
            json!({ "Name": name.name(), "Value": current_value(&state, name)? })
        },
    );
    Ok(Json(entity(&state, name)?))
}

/// `GET api/settings/resources`. Seq.Api finds a setting by name through a link named after it
/// (`FindNamedAsync` follows `Links.InstanceTitle`), so every setting has one.
pub(crate) async fn resources() -> Json<Value> {
    let mut links = serde_json::Map::new();
    links.insert("Items".into(), "api/settings/".into());
    links.insert("Item".into(), "api/settings/{id}".into());
    links.insert(
        "InternalErrorReporting".into(),
        "api/settings/internal-error-reporting".into(),
    );
    for name in SettingName::ALL {
        links.insert(
            name.name().into(),
            format!("api/settings/{}", name.id()).into(),
        );
    }
    Json(json!({ "Links": links }))
}

/// `GET api/settings/internal-error-reporting` (System): seqr never reports errors or usage to
/// anyone, so everything is off.
pub(crate) async fn internal_error_reporting() -> Json<Value> {
    Json(json!({
        "InternalErrorReportingEnabled": false,
        "ReplyEmail": null,
        "UsageTelemetryEnabled": false,
    }))
}

/// `PUT api/settings/internal-error-reporting` (System): accepted while it keeps everything off.
pub(crate) async fn put_internal_error_reporting(body: Bytes) -> Result<Json<Value>, ApiError> {
    let part: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be an InternalErrorReportingSettingsPart JSON object: {e}."
        ))
    })?;
    let enabled = ["InternalErrorReportingEnabled", "UsageTelemetryEnabled"]
        .iter()
        .any(|k| part.get(*k).and_then(Value::as_bool) == Some(true));
    if enabled {
        return Err(ApiError::bad_request(
            "seqr makes no outbound connections to report errors or usage; these settings stay off.",
        ));
    }
    Ok(internal_error_reporting().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_paths_are_exactly_the_public_settings() {
        let from_paths: Vec<SettingName> = PUBLIC_SETTING_PATHS
            .iter()
            .map(|p| named(&p.parse().unwrap()).unwrap())
            .collect();
        let public: Vec<SettingName> = SettingName::ALL
            .iter()
            .copied()
            .filter(|n| n.is_public())
            .collect();
        assert_eq!(from_paths, public);
    }

    #[test]
    fn values_are_checked_against_their_kind() {
        use SettingName::*;
        assert!(check_value(RequireApiKeyForWritingEvents, &json!(true)).is_ok());
        assert!(check_value(RequireApiKeyForWritingEvents, &json!("yes")).is_err());
        assert!(check_value(RawPayloadMaximumContentLength, &json!(0)).is_err());
        assert!(check_value(MinimumFreeStorageSpace, &json!(0)).is_ok());
        assert!(check_value(MinimumFreeStorageSpace, &json!(-1)).is_err());
        assert!(check_value(InstanceTitle, &json!("prod")).is_ok());
        assert!(check_value(NewUserRoleIds, &json!(["role-user-readonly"])).is_ok());
        assert!(check_value(NewUserRoleIds, &json!(["role-nope"])).is_err());
        assert!(check_value(IsAuthenticationEnabled, &json!(false)).is_err());
        assert!(check_value(InstanceTitle, &Value::Null).is_ok());
        assert!(check_value(BackupUtcTimeOfDay, &json!("23:30")).is_ok());
        assert!(check_value(BackupUtcTimeOfDay, &json!("25:00")).is_err());
        assert!(check_value(BackupUtcTimeOfDay, &json!(7200)).is_err());
    }
}
