use seqr_meta::settings::{self, SeedOutcome, SetSettingError, SettingName, SettingValue};

use crate::support::temp_db;

fn json(v: serde_json::Value) -> SettingValue {
    SettingValue::Json(v)
}

#[test]
fn ids_and_names_follow_seq() {
    assert_eq!(
        SettingName::RequireApiKeyForWritingEvents.id(),
        "setting-requireapikeyforwritingevents"
    );
    assert_eq!(
        SettingName::RawPayloadMaximumContentLength.id(),
        "setting-rawpayloadmaximumcontentlength"
    );
    assert_eq!(
        SettingName::RawEventMaximumContentLength.id(),
        "setting-raweventmaximumcontentlength"
    );
    assert_eq!(
        SettingName::MinimumFreeStorageSpace.id(),
        "setting-minimumfreestoragespace"
    );
    assert_eq!(SettingName::InstanceTitle.id(), "setting-instancetitle");
    assert_eq!(
        SettingName::IsAuthenticationEnabled.id(),
        "setting-isauthenticationenabled"
    );
    for s in SettingName::ALL {
        assert_eq!(SettingName::from_id(&s.id()), Some(*s));
        assert_eq!(SettingName::from_id(&s.id().to_uppercase()), Some(*s));
        assert_eq!(SettingName::from_name(s.name()), Some(*s));
    }
    assert_eq!(SettingName::from_id("setting-nope"), None);
    assert_eq!(SettingName::from_id("instancetitle"), None);
    assert!(SettingName::InstanceTitle.is_public());
    assert!(SettingName::IsAuthenticationEnabled.is_public());
    assert!(!SettingName::RequireApiKeyForWritingEvents.is_public());
    assert!(SettingName::OpenIdConnectClientSecret.is_sensitive());
    assert!(SettingName::EntraIDClientKey.is_sensitive());
    assert!(!SettingName::InstanceTitle.is_sensitive());
}

#[test]
fn seeding_never_overrides_an_administrator() {
    let (_dir, path, db) = temp_db();
    let name = SettingName::RequireApiKeyForWritingEvents;
    assert!(settings::get(&db, name).unwrap().is_none());

    assert_eq!(
        settings::seed_if_unset(&db, name, &json(false.into()), 10).unwrap(),
        SeedOutcome::Seeded
    );
    let s = settings::get(&db, name).unwrap().unwrap();
    assert_eq!(s.value, json(false.into()));
    assert!(!s.explicitly_set);

    // A later start with a different flag still wins over a mere seed.
    assert_eq!(
        settings::seed_if_unset(&db, name, &json(true.into()), 20).unwrap(),
        SeedOutcome::Seeded
    );
    assert_eq!(
        settings::get(&db, name).unwrap().unwrap().value,
        json(true.into())
    );

    settings::set(&db, name, &json(false.into()), Some("user-admin"), 30).unwrap();
    drop(db);
    let db = seqr_meta::MetaDb::open(&path).unwrap();
    assert_eq!(
        settings::seed_if_unset(&db, name, &json(true.into()), 40).unwrap(),
        SeedOutcome::AdministratorValueKept
    );
    let s = settings::get(&db, name).unwrap().unwrap();
    assert_eq!(s.value, json(false.into()));
    assert!(s.explicitly_set);
    assert_eq!(s.updated_at, 30);
    assert_eq!(s.updated_by.as_deref(), Some("user-admin"));

    // Clearing returns it to the default; seeding applies again.
    assert!(settings::clear(&db, name).unwrap());
    assert!(!settings::clear(&db, name).unwrap());
    assert_eq!(
        settings::seed_if_unset(&db, name, &json(true.into()), 50).unwrap(),
        SeedOutcome::Seeded
    );
}

#[test]
fn values_round_trip_as_json() {
    let (_dir, _path, db) = temp_db();
    settings::set(
        &db,
        SettingName::RawPayloadMaximumContentLength,
        &json(serde_json::json!(10_485_760)),
        None,
        1,
    )
    .unwrap();
    settings::set(
        &db,
        SettingName::InstanceTitle,
        &json("Production \"EU\"".into()),
        None,
        1,
    )
    .unwrap();
    settings::set(
        &db,
        SettingName::NewUserRoleIds,
        &json(serde_json::json!(["role-user-readonly"])),
        None,
        1,
    )
    .unwrap();
    let all = settings::list(&db).unwrap();
    let names: Vec<_> = all.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            SettingName::InstanceTitle,
            SettingName::NewUserRoleIds,
            SettingName::RawPayloadMaximumContentLength
        ]
    );
    assert_eq!(all[0].1.value, json("Production \"EU\"".into()));
    assert_eq!(all[2].1.value, json(serde_json::json!(10_485_760)));
}

#[test]
fn sensitive_settings_are_only_stored_sealed() {
    let (_dir, path, db) = temp_db();
    let secret = SettingName::OpenIdConnectClientSecret;
    let err = settings::set(&db, secret, &json("hunter2-plain".into()), None, 1).unwrap_err();
    assert!(matches!(err, SetSettingError::MustBeSealed(_)), "{err}");
    assert!(matches!(
        settings::seed_if_unset(&db, secret, &json("hunter2-plain".into()), 1),
        Err(SetSettingError::MustBeSealed(_))
    ));
    assert!(matches!(
        settings::set(
            &db,
            SettingName::InstanceTitle,
            &SettingValue::Sealed(vec![1]),
            None,
            1
        ),
        Err(SetSettingError::MustNotBeSealed(_))
    ));
    let sealed = vec![0xde, 0xad, 0xbe, 0xef];
    settings::set(&db, secret, &SettingValue::Sealed(sealed.clone()), None, 1).unwrap();
    assert_eq!(
        settings::get(&db, secret).unwrap().unwrap().value,
        SettingValue::Sealed(sealed)
    );
    // Null clears the value of a sensitive setting.
    settings::set(&db, secret, &json(serde_json::Value::Null), None, 2).unwrap();
    drop(db);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes
            .windows(b"hunter2-plain".len())
            .any(|w| w == b"hunter2-plain")
    );
}

#[test]
fn internal_values() {
    let (_dir, _path, db) = temp_db();
    assert!(
        settings::get_internal(&db, "secret-key-check")
            .unwrap()
            .is_none()
    );
    assert!(settings::insert_internal_if_absent(&db, "secret-key-check", b"v1", 1).unwrap());
    assert!(!settings::insert_internal_if_absent(&db, "secret-key-check", b"v2", 2).unwrap());
    assert_eq!(
        settings::get_internal(&db, "secret-key-check")
            .unwrap()
            .as_deref(),
        Some(&b"v1"[..])
    );
    settings::set_internal(&db, "secret-key-check", b"v3", 3).unwrap();
    assert_eq!(
        settings::get_internal(&db, "secret-key-check")
            .unwrap()
            .as_deref(),
        Some(&b"v3"[..])
    );
}
