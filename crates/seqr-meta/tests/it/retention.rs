use seqr_meta::retention::{self, PolicySettings, RetentionPolicyError};

use crate::support::temp_db;

const DAY: i64 = 864_000_000_000;

#[test]
fn create_list_get_update_delete() {
    let (_dir, path, db) = temp_db();
    let a = retention::create(
        &db,
        &PolicySettings {
            retention_ticks: 30 * DAY,
            filter: None,
        },
        Some("user-admin"),
        100,
    )
    .unwrap();
    assert_eq!(a.id, "retentionpolicy-1");
    assert_eq!(a.retention_ticks, 30 * DAY);
    assert_eq!((a.created_at, a.updated_at), (100, 100));
    assert_eq!(a.updated_by.as_deref(), Some("user-admin"));
    let b = retention::create(
        &db,
        &PolicySettings {
            retention_ticks: 2 * DAY,
            filter: Some("@Level = 'Debug'".into()),
        },
        None,
        101,
    )
    .unwrap();
    assert_eq!(b.id, "retentionpolicy-2");
    assert_eq!(retention::list(&db).unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(retention::get(&db, &b.id).unwrap(), Some(b.clone()));
    assert_eq!(retention::get(&db, "retentionpolicy-9").unwrap(), None);
    assert_eq!(retention::get(&db, "nonsense").unwrap(), None);

    let changed = retention::update(
        &db,
        &b.id,
        &PolicySettings {
            retention_ticks: 3 * DAY,
            filter: None,
        },
        Some("apikey-x"),
        200,
    )
    .unwrap();
    assert_eq!(changed.retention_ticks, 3 * DAY);
    assert_eq!(changed.filter, None);
    assert_eq!((changed.created_at, changed.updated_at), (101, 200));

    // Survives reopening.
    drop(db);
    let db = seqr_meta::MetaDb::open(&path).unwrap();
    assert_eq!(retention::get(&db, &b.id).unwrap(), Some(changed.clone()));

    assert_eq!(retention::delete(&db, &a.id).unwrap(), a);
    assert!(matches!(
        retention::delete(&db, &a.id),
        Err(RetentionPolicyError::NotFound)
    ));
    // A deleted policy's number is never reused.
    let c = retention::create(
        &db,
        &PolicySettings {
            retention_ticks: DAY,
            filter: None,
        },
        None,
        300,
    )
    .unwrap();
    assert_eq!(c.id, "retentionpolicy-3");
    assert_eq!(retention::list(&db).unwrap(), vec![changed, c]);
}

#[test]
fn retention_times_must_be_positive_and_unknown_ids_are_not_found() {
    let (_dir, _path, db) = temp_db();
    for ticks in [0, -1] {
        let s = PolicySettings {
            retention_ticks: ticks,
            filter: None,
        };
        assert!(matches!(
            retention::create(&db, &s, None, 0),
            Err(RetentionPolicyError::NotPositive)
        ));
    }
    let s = PolicySettings {
        retention_ticks: DAY,
        filter: None,
    };
    for id in ["retentionpolicy-1", "retentionpolicy-x", ""] {
        assert!(matches!(
            retention::update(&db, id, &s, None, 0),
            Err(RetentionPolicyError::NotFound)
        ));
        assert!(matches!(
            retention::delete(&db, id),
            Err(RetentionPolicyError::NotFound)
        ));
    }
    assert!(retention::list(&db).unwrap().is_empty());
}
