use seqr_meta::apikeys::{
    self, ApiKeyCounts, ApiKeyUpdate, AppliedProperty, CreateApiKeyError, DEFAULT_KEY_ID,
    DeleteApiKeyError, InputSettings, NewApiKey, UpdateApiKeyError,
};
use seqr_meta::users::{self, NewUser};
use seqr_meta::{Permission, PermissionSet};

use crate::support::temp_db;

fn shared_key(title: &str, prefix: &str) -> NewApiKey {
    NewApiKey {
        title: title.into(),
        token_prefix: prefix.into(),
        token_salt: vec![7; 16],
        token_digest: vec![9; 32],
        owner_id: None,
        assigned_permissions: PermissionSet::from(Permission::Ingest),
        input_settings: InputSettings::default(),
    }
}

#[test]
fn default_key_exists_and_cannot_be_deleted() {
    let (_dir, _path, db) = temp_db();
    let d = apikeys::default_key(&db).unwrap();
    assert_eq!(d.id, DEFAULT_KEY_ID);
    assert_eq!(d.title, "None");
    assert!(d.is_default);
    assert!(d.token_digest.is_none() && d.token_prefix.is_none());
    assert_eq!(
        d.assigned_permissions,
        PermissionSet::from(Permission::Ingest)
    );
    assert!(matches!(
        apikeys::delete(&db, DEFAULT_KEY_ID),
        Err(DeleteApiKeyError::IsDefault)
    ));
    // Its input settings can be changed.
    let updated = apikeys::update(
        &db,
        DEFAULT_KEY_ID,
        &ApiKeyUpdate {
            input_settings: Some(InputSettings {
                minimum_level: Some("Warning".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        updated.input_settings.minimum_level.as_deref(),
        Some("Warning")
    );
}

#[test]
fn create_get_list_update_delete() {
    let (_dir, _path, db) = temp_db();
    let settings = InputSettings {
        applied_properties: vec![
            AppliedProperty {
                name: "Application".into(),
                value: serde_json::json!("billing"),
            },
            AppliedProperty {
                name: "Tier".into(),
                value: serde_json::json!(3),
            },
        ],
        filter: Some("@Level <> 'Debug'".into()),
        minimum_level: Some("Information".into()),
        use_server_timestamps: true,
    };
    let k = apikeys::create(
        &db,
        &NewApiKey {
            input_settings: settings.clone(),
            assigned_permissions: PermissionSet::of(&[Permission::Ingest, Permission::Read]),
            ..shared_key("Billing", "Xy12")
        },
        50,
    )
    .unwrap();
    assert!(k.id.starts_with("apikey-"));
    assert_eq!(k.title, "Billing");
    assert_eq!(k.token_prefix.as_deref(), Some("Xy12"));
    assert_eq!(k.token_salt.as_deref(), Some(&[7u8; 16][..]));
    assert_eq!(k.token_digest.as_deref(), Some(&[9u8; 32][..]));
    assert_eq!(k.input_settings, settings);
    assert!(!k.is_default);
    assert_eq!(k.created_at, 50);
    assert_eq!(k.counts, ApiKeyCounts::default());
    assert_eq!(apikeys::get(&db, &k.id).unwrap().unwrap(), k);

    let list = apikeys::list(&db).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].is_default);

    let u = apikeys::update(
        &db,
        &k.id,
        &ApiKeyUpdate {
            title: Some("Billing (prod)".into()),
            assigned_permissions: Some(PermissionSet::from(Permission::Ingest)),
            input_settings: Some(InputSettings::default()),
        },
    )
    .unwrap();
    assert_eq!(u.title, "Billing (prod)");
    assert_eq!(u.assigned_permissions.to_string(), "Ingest");
    assert_eq!(u.input_settings, InputSettings::default());
    assert_eq!(u.token_digest, k.token_digest, "the token never changes");

    apikeys::delete(&db, &k.id).unwrap();
    assert!(apikeys::get(&db, &k.id).unwrap().is_none());
    assert!(matches!(
        apikeys::delete(&db, &k.id),
        Err(DeleteApiKeyError::NotFound)
    ));
    assert!(matches!(
        apikeys::update(&db, &k.id, &ApiKeyUpdate::default()),
        Err(UpdateApiKeyError::NotFound)
    ));
}

#[test]
fn invalid_keys_are_refused() {
    let (_dir, _path, db) = temp_db();
    assert!(matches!(
        apikeys::create(&db, &shared_key(" ", "ab"), 1),
        Err(CreateApiKeyError::EmptyTitle)
    ));
    assert!(matches!(
        apikeys::create(
            &db,
            &NewApiKey {
                token_digest: vec![],
                ..shared_key("t", "ab")
            },
            1
        ),
        Err(CreateApiKeyError::MissingToken)
    ));
    let err = apikeys::create(
        &db,
        &NewApiKey {
            owner_id: Some("user-ghost".into()),
            ..shared_key("t", "ab")
        },
        1,
    )
    .unwrap_err();
    assert!(matches!(err, CreateApiKeyError::UnknownOwner), "{err}");
}

#[test]
fn candidates_by_prefix_and_personal_keys() {
    let (_dir, _path, db) = temp_db();
    let owner = users::create(
        &db,
        &NewUser {
            username: "hal".into(),
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let a = apikeys::create(&db, &shared_key("a", "AAAA"), 1).unwrap();
    let b = apikeys::create(&db, &shared_key("b", "AAAA"), 1).unwrap();
    let c = apikeys::create(
        &db,
        &NewApiKey {
            owner_id: Some(owner.id.clone()),
            ..shared_key("c", "CCCC")
        },
        1,
    )
    .unwrap();
    let mut found: Vec<String> = apikeys::find_by_prefix(&db, "AAAA")
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    found.sort();
    let mut expected = vec![a.id.clone(), b.id.clone()];
    expected.sort();
    assert_eq!(found, expected);
    assert!(apikeys::find_by_prefix(&db, "ZZZZ").unwrap().is_empty());
    let mine = apikeys::list_owned_by(&db, &owner.id).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, c.id);
    assert_eq!(mine[0].owner_id.as_deref(), Some(owner.id.as_str()));
}

#[test]
fn counters_accumulate_in_batches() {
    let (_dir, path, db) = temp_db();
    let k = apikeys::create(&db, &shared_key("k", "KKKK"), 1).unwrap();
    let delta = ApiKeyCounts {
        arrived_events: 10,
        arrived_bytes: 1000,
        ingested_events: 7,
        ingested_bytes: 700,
        invalid_payloads: 1,
    };
    apikeys::add_counts(
        &db,
        &[
            (k.id.as_str(), delta),
            (DEFAULT_KEY_ID, delta),
            ("apikey-deleted", delta),
        ],
    )
    .unwrap();
    apikeys::add_counts(&db, &[(k.id.as_str(), delta)]).unwrap();
    let c = apikeys::get(&db, &k.id).unwrap().unwrap().counts;
    assert_eq!(c.arrived_events, 20);
    assert_eq!(c.arrived_bytes, 2000);
    assert_eq!(c.ingested_events, 14);
    assert_eq!(c.ingested_bytes, 1400);
    assert_eq!(c.invalid_payloads, 2);
    assert_eq!(apikeys::default_key(&db).unwrap().counts.arrived_events, 10);
    // Durable across reopen.
    drop(db);
    let db = seqr_meta::MetaDb::open(&path).unwrap();
    assert_eq!(
        apikeys::get(&db, &k.id)
            .unwrap()
            .unwrap()
            .counts
            .ingested_bytes,
        1400
    );
}

#[test]
fn personal_key_permissions_are_delegated() {
    let (_dir, _path, db) = temp_db();
    let owner = users::create(
        &db,
        &NewUser {
            username: "pat".into(),
            role_ids: vec![seqr_meta::roles::USER_READ_ONLY.into()],
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let personal = apikeys::create(
        &db,
        &NewApiKey {
            owner_id: Some(owner.id.clone()),
            assigned_permissions: PermissionSet::of(&[Permission::Read, Permission::Ingest]),
            ..shared_key("mine", "PPPP")
        },
        1,
    )
    .unwrap();
    assert_eq!(
        personal
            .effective_permissions(Some(owner.permissions()))
            .to_string(),
        "Read"
    );
    assert!(personal.effective_permissions(None).is_empty());
    let shared = apikeys::create(&db, &shared_key("shared", "SSSS"), 1).unwrap();
    assert_eq!(shared.effective_permissions(None).to_string(), "Ingest");
}
