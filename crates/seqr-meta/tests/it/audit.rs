use std::path::Path;

use seqr_meta::MetaDb;
use seqr_meta::audit::{self, AuditOutcome, NewAuditRecord, Tampering, VerifyError};

use crate::support::temp_db;

fn append_n(db: &MetaDb, n: usize) {
    for i in 0..n {
        let detail = serde_json::json!({"attempt": i, "reason": "test"});
        audit::append(
            db,
            &NewAuditRecord {
                at_ms: 1_700_000_000_000 + i as i64,
                principal: if i % 2 == 0 { Some("user-admin") } else { None },
                client_address: Some("127.0.0.1"),
                action: "user.login",
                target: Some("user-admin"),
                outcome: if i % 3 == 0 {
                    AuditOutcome::Success
                } else {
                    AuditOutcome::Failure
                },
                detail: &detail,
            },
        )
        .unwrap();
    }
}

/// Raw SQL as an attacker with file access would run it (dropping the append-only triggers).
fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

fn first_bad(db: &MetaDb) -> (i64, Tampering) {
    match audit::verify(db) {
        Err(VerifyError::Tampered { record_id, problem }) => (record_id, problem),
        other => panic!("expected tampering, got {other:?}"),
    }
}

#[test]
fn append_list_and_verify() {
    let (_dir, _path, db) = temp_db();
    let empty = audit::verify(&db).unwrap();
    assert_eq!(empty.records, 0);
    append_n(&db, 5);
    let all = audit::list(&db, 0, 100).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(all[0].principal.as_deref(), Some("user-admin"));
    assert_eq!(all[1].principal, None);
    assert_eq!(all[0].outcome, AuditOutcome::Success);
    assert_eq!(all[1].outcome, AuditOutcome::Failure);
    assert_eq!(all[4].detail["attempt"], 4);
    let page = audit::list(&db, 2, 2).unwrap();
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 4]);
    let report = audit::verify(&db).unwrap();
    assert_eq!(report.records, 5);
    assert_eq!(report.head_hash, all[4].hash);
    // Hashes chain: all distinct.
    assert_ne!(all[0].hash, all[1].hash);
}

#[test]
fn the_table_refuses_update_and_delete() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 2);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let err = conn
        .execute("UPDATE audit_log SET action = 'x' WHERE id = 1", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    audit::verify(&db).unwrap();
}

#[test]
fn an_edited_record_is_detected() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 6);
    tamper(
        &path,
        "UPDATE audit_log SET outcome = 'success' WHERE id = 3",
    );
    let (id, problem) = first_bad(&db);
    assert_eq!((id, problem), (3, Tampering::HashMismatch));
    let msg = audit::verify(&db).unwrap_err().to_string();
    assert!(msg.contains("record 3"), "{msg}");
}

#[test]
fn an_edited_detail_is_detected() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 4);
    tamper(
        &path,
        r#"UPDATE audit_log SET detail = '{"attempt":1, "reason":"test"}' WHERE id = 2"#,
    );
    assert_eq!(first_bad(&db).0, 2);
}

#[test]
fn a_removed_record_is_detected() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 6);
    tamper(&path, "DELETE FROM audit_log WHERE id = 4");
    let (id, problem) = first_bad(&db);
    assert_eq!(id, 5);
    assert_eq!(problem, Tampering::Missing { from: 4, to: 4 });
}

#[test]
fn a_removed_record_with_renumbering_is_detected() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 5);
    tamper(
        &path,
        "DELETE FROM audit_log WHERE id = 2; UPDATE audit_log SET id = id - 1 WHERE id > 2;",
    );
    assert_eq!(first_bad(&db), (2, Tampering::HashMismatch));
}

#[test]
fn removing_the_newest_records_is_detected() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 5);
    tamper(&path, "DELETE FROM audit_log WHERE id >= 4");
    assert_eq!(
        first_bad(&db),
        (3, Tampering::TruncatedAfter { head_id: 5 })
    );
    tamper(&path, "DELETE FROM audit_log");
    assert_eq!(
        first_bad(&db),
        (0, Tampering::TruncatedAfter { head_id: 5 })
    );
}

#[test]
fn swapped_records_are_detected() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 6);
    // Swap the full contents (hash included) of records 2 and 3.
    tamper(
        &path,
        "UPDATE audit_log SET id = -2 WHERE id = 2;
         UPDATE audit_log SET id = 2 WHERE id = 3;
         UPDATE audit_log SET id = 3 WHERE id = -2;",
    );
    assert_eq!(first_bad(&db), (2, Tampering::HashMismatch));
}

#[test]
fn appending_continues_the_chain_after_reopen() {
    let (_dir, path, db) = temp_db();
    append_n(&db, 3);
    drop(db);
    let db = MetaDb::open(&path).unwrap();
    append_n(&db, 2);
    let report = audit::verify(&db).unwrap();
    assert_eq!(report.records, 5);
}
