//! Discovery documents: Seq.Api clients GET `api`, then `api/<group>/resources`, then follow the
//! named RFC 6570 templates. Only groups that exist are listed, and each template declares every
//! parameter Seq.Api may pass (it throws on an undeclared one).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;

/// `GET api`: the root entity. Seq.Api also uses it as its connectivity check.
pub(crate) async fn root(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "Product": "seqr",
        "Version": env!("CARGO_PKG_VERSION"),
        "InstanceName": state.runtime.get().instance_title.as_deref(),
        "Links": {
            "Self": "api/",
            "ApiKeysResources": "api/apikeys/resources",
            "BackupsResources": "api/backups/resources",
            "DataResources": "api/data/resources",
            "DiagnosticsResources": "api/diagnostics/resources",
            "EventsResources": "api/events/resources",
            "ExpressionsResources": "api/expressions/resources",
            "RetentionPoliciesResources": "api/retentionpolicies/resources",
            "RolesResources": "api/roles/resources",
            "SettingsResources": "api/settings/resources",
            "UsersResources": "api/users/resources",
        }
    }))
}

/// `GET api/events/resources`.
pub(crate) async fn events_resources() -> Json<Value> {
    Json(json!({
        "Links": {
            "Item": "api/events/{id}{?render,permalinkId,background,trace}",
            "InSignal": "api/events/signal{?count,signal,filter,startAtId,afterId,render,fromDateUtc,toDateUtc,shortCircuitAfter,permalinkId,background,trace}",
            "DeleteInSignal": "api/events/signal{?signal,filter,fromDateUtc,toDateUtc}",
            "Raw": "api/events/raw{?clef,apiKey}",
            "Stream": "api/events/stream{?signal,filter,render,clef,wait}",
            "Export": "api/events/export{?signal,filter,fromDateUtc,toDateUtc,format}",
        }
    }))
}
