//! `api/roles`: Seq's six built-in roles (`RoleEntity`), for Seq.Api tools and the UI's user
//! editor.

use axum::Json;
use axum::extract::Path;
use seqr_meta::roles::{self, RoleEntity};
use serde_json::{Value, json};

use crate::error::ApiError;

fn role_entity(role: &RoleEntity) -> Value {
    json!({
        "Id": role.id,
        "Title": role.title,
        "Permissions": role.permissions.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "Description": role.description,
        "Links": { "Self": format!("api/roles/{}", role.id) },
    })
}

/// `GET api/roles`.
pub(crate) async fn list() -> Json<Value> {
    Json(Value::Array(
        roles::BUILT_IN.iter().map(role_entity).collect(),
    ))
}

/// `GET api/roles/{id}`.
pub(crate) async fn by_id(Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    roles::by_id(&id)
        .map(|r| Json(role_entity(r)))
        .ok_or_else(|| ApiError::not_found(format!("No role with id `{id}` exists.")))
}

/// `GET api/roles/resources`.
pub(crate) async fn resources() -> Json<Value> {
    Json(json!({ "Links": { "Items": "api/roles/", "Item": "api/roles/{id}" } }))
}
