//! Queries over in-memory events.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use seqr_types::{Event, EventId, StoredEvent, Timestamp};
use serde_json::{Value as Json, json};

use super::*;
use crate::value::Value;

const T0: &str = "2026-01-01T00:00:00Z";

fn ticks(iso: &str) -> i64 {
    Timestamp::parse(iso).unwrap().ticks()
}

/// An event `seconds` after `T0`, arrival `n`, with user properties.
fn ev(n: u64, seconds: i64, props: Json) -> StoredEvent {
    let t = ticks(T0) + seconds * 10_000_000;
    let Json::Object(properties) = props else {
        panic!("properties must be an object")
    };
    StoredEvent {
        id: EventId {
            ticks: t,
            arrival: n,
        },
        event: Event {
            timestamp: Timestamp::from_ticks(t),
            message_template: Some("Request {Path}".into()),
            properties,
            ..Default::default()
        },
    }
}

fn sample() -> Vec<StoredEvent> {
    vec![
        ev(
            1,
            0,
            json!({"Path": "/a", "Service": "web", "Ms": 10, "Ok": true}),
        ),
        ev(
            2,
            30,
            json!({"Path": "/b", "Service": "Web", "Ms": 20, "Ok": true}),
        ),
        ev(
            3,
            90,
            json!({"Path": "/a", "Service": "db", "Ms": 30, "Ok": false}),
        ),
        ev(4, 150, json!({"Path": "/c", "Service": "db", "Ms": "n/a"})),
        ev(5, 3700, json!({"Path": "/a", "Ms": null})),
    ]
}

fn options() -> QueryOptions {
    QueryOptions {
        now_ticks: ticks("2026-06-01T00:00:00Z"),
        ..Default::default()
    }
}

fn ranged() -> QueryOptions {
    QueryOptions {
        range_start: Some(ticks(T0)),
        ..options()
    }
}

fn run_with(q: &str, options: &QueryOptions, events: &[StoredEvent]) -> QueryResult {
    execute(q, &Variables::new(), options, events).unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn run(q: &str) -> QueryResult {
    run_with(q, &options(), &sample())
}

fn fail(q: &str) -> QueryError {
    execute(q, &Variables::new(), &ranged(), &sample()).expect_err(q)
}

fn json_of(r: &QueryResult) -> Json {
    Json::Object(r.to_json())
}

fn rows(r: &QueryResult) -> Json {
    json_of(r)["Rows"].clone()
}

#[test]
fn count_star_and_count_of_values() {
    let r = run("select count(*) as n, count(Ms), count(Missing) from stream");
    assert_eq!(r.columns, ["n", "count(Ms)", "count(Missing)"]);
    assert_eq!(
        rows(&r),
        json!([[5, 4, 0]]),
        "count(x) skips null and undefined"
    );
    let r = run_with("select count(*) from stream", &options(), &[]);
    assert_eq!(
        rows(&r),
        json!([[0]]),
        "no group by: one row even over nothing"
    );
    let r = run_with("select count(*) from stream group by Path", &options(), &[]);
    assert_eq!(rows(&r), json!([]));
}

#[test]
fn numeric_aggregates_ignore_non_numbers() {
    let r = run("select sum(Ms), mean(Ms), min(Ms), max(Ms), sum(Path), mean(Missing) from stream");
    assert_eq!(rows(&r), json!([[60, 20, 10, 30, null, null]]));
    let r = run("select mean(Ms) from stream where Ms <> 30");
    assert_eq!(rows(&r), json!([[15]]));
}

#[test]
fn aggregates_compose_with_scalar_functions() {
    let r = run(
        "select Round(TotalMilliseconds(percentile(Ms * 10000, 95)), 2) as p95, \
         Concat(ToJson(count(*)), ' events') as label, count(*) * 2 + 1 from stream",
    );
    assert_eq!(r.columns, ["p95", "label", "count(*) * 2 + 1"]);
    assert_eq!(rows(&r), json!([[30, "5 events", 11]]));
}

#[test]
fn percentile_is_nearest_rank() {
    let events: Vec<StoredEvent> = (1..=100)
        .map(|i| ev(i, i as i64, json!({"X": i})))
        .collect();
    let r = run_with(
        "select percentile(X, 50), percentile(X, 95), percentile(X, 99.5), percentile(X, 0) from stream",
        &options(),
        &events,
    );
    assert_eq!(rows(&r), json!([[50, 95, 100, 1]]));
}

#[test]
fn group_keys_come_first_and_ci_keeps_the_first_spelling() {
    let r = run("select count(*) as n, sum(Ms) from stream group by Service");
    assert_eq!(r.columns, ["Service", "n", "sum(Ms)"]);
    assert_eq!(
        rows(&r),
        json!([
            [null, 1, null],
            ["Web", 1, 20],
            ["db", 2, 30],
            ["web", 1, 10]
        ]),
        "sorted by key; undefined keys group as null"
    );
    let r = run("select count(*) as n from stream group by Service ci as svc, Path");
    assert_eq!(r.columns, ["svc", "Path", "n"]);
    assert_eq!(
        rows(&r),
        json!([
            [null, "/a", 1],
            ["db", "/a", 1],
            ["db", "/c", 1],
            ["web", "/a", 1],
            ["Web", "/b", 1]
        ]),
        "each group shows its own earliest spelling"
    );
    let r = run("select count(*) from stream group by Service ci");
    assert_eq!(
        rows(&r)[2],
        json!(["web", 2]),
        "the earliest event's spelling"
    );
    let mut reversed = sample();
    reversed.reverse();
    let r = run_with(
        "select count(*) from stream group by Service ci",
        &options(),
        &reversed,
    );
    assert_eq!(rows(&r)[2], json!(["web", 2]), "whatever the feed order");
}

#[test]
fn columns_may_repeat_group_keys_but_not_read_other_properties() {
    let r = run("select ToUpper(Path) as upper, count(*) from stream group by Path");
    assert_eq!(r.columns, ["Path", "upper", "count(*)"]);
    assert_eq!(rows(&r)[0], json!(["/a", "/A", 3]));
    let e = fail("select Service, count(*) from stream group by Path");
    assert!(
        e.message.contains("`Service` is read outside an aggregate"),
        "{e}"
    );
    assert_eq!(
        e.suggestion.as_deref(),
        Some("use an aggregate such as `first(Service)`, or add `Service` to `group by`")
    );
    assert_eq!(e.position, Some(8));
}

#[test]
fn having_order_by_and_limit_use_aliases() {
    let q = "select count(*) as n, sum(Ms) as total from stream group by Path having n > 1 or total >= 20";
    let r = run(q);
    assert_eq!(rows(&r), json!([["/a", 3, 40], ["/b", 1, 20]]));
    let r = run(&format!("{q} order by n"));
    assert_eq!(rows(&r), json!([["/b", 1, 20], ["/a", 3, 40]]));
    let r =
        run("select count(*) as n from stream group by Path order by n desc, Path desc limit 2");
    assert_eq!(rows(&r), json!([["/a", 3], ["/c", 1]]));
    let r =
        run("select count(*) from stream group by Path having count(*) = 1 order by count(*) desc");
    assert_eq!(
        rows(&r),
        json!([["/b", 1], ["/c", 1]]),
        "raw aggregates in having, printed names in order by"
    );
    let r = run("select count(*) from stream group by Path having Path <> '/a'");
    assert_eq!(rows(&r), json!([["/b", 1], ["/c", 1]]));
    let r = run("select count(*) as n from stream group by Service ci order by Service ci desc");
    assert_eq!(rows(&r)[0], json!(["web", 2]));

    let e = fail("select count(*) as n from stream group by Path order by total");
    assert!(e.message.contains("`total` is not a column"), "{e}");
    assert!(e.suggestion.unwrap().contains("`Path`, `n`"));
    let e = fail("select count(*) as n from stream group by Path having nn > 1");
    assert!(e.message.contains("not a column"), "{e}");
    assert_eq!(e.suggestion.as_deref(), Some("did you mean `n`?"));
}

#[test]
fn default_limit_is_1024() {
    let events: Vec<StoredEvent> = (0..2000)
        .map(|i| ev(i, i as i64, json!({"K": i})))
        .collect();
    let r = run_with(
        "select count(*) from stream group by K",
        &options(),
        &events,
    );
    assert_eq!(r.row_count(), DEFAULT_LIMIT);
    let r = run_with(
        "select count(*) from stream group by K limit 3",
        &options(),
        &events,
    );
    assert_eq!(rows(&r), json!([[0, 1], [1, 1], [2, 1]]));
}

#[test]
fn scalar_queries_and_into() {
    let r = run("select 1 + 1, ToIsoString(Now()) as now");
    assert_eq!(r.columns, ["1 + 1", "now"]);
    assert_eq!(rows(&r), json!([[2, "2026-06-01T00:00:00.0000000Z"]]));
    let r = run("select 0.1 + 0.2 into $x");
    let j = json_of(&r);
    assert_eq!(j["Variables"], json!({"x": 0.3}));
    assert_eq!(j["Rows"], json!([[0.3]]));
    assert_eq!(
        r.variables,
        Some(vec![("x".into(), Value::Number("0.3".parse().unwrap()))])
    );

    let mut vars = Variables::new();
    vars.insert("x".into(), Value::from_i64(41));
    let r = execute("select $x + 1", &vars, &options(), &[]).unwrap();
    assert_eq!(rows(&r), json!([[42]]));

    assert!(
        fail("select 1, 2 into $x")
            .message
            .contains("exactly one column")
    );
    assert!(
        fail("select count(*) into $x from stream")
            .message
            .contains("scalar query")
    );
    assert!(
        fail("select count(*)")
            .message
            .contains("add `from stream`")
    );
    assert!(
        fail("select 1 where A = 1")
            .message
            .contains("add `from stream`")
    );
    assert!(
        fail("select $nope")
            .message
            .contains("`$nope` is not defined")
    );
}

#[test]
fn time_slices_need_a_lower_bound() {
    let e = fail_with("select count(*) from stream group by time(1m)", &options());
    assert_eq!(
        e.message,
        "Error at position 38: group by time() needs a lower bound on @Timestamp, such as rangeStartUtc."
    );
    for q in [
        "select count(*) from stream where @Timestamp >= DateTime('2026-01-01') group by time(1m)",
        "select count(*) from stream where Ms > 0 and @Timestamp > Now() - 365d group by time(1m)",
        "select count(*) from stream where 0 < @Timestamp group by time(1m)",
    ] {
        execute(q, &Variables::new(), &options(), &sample()).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    assert!(fail_with(
        "select count(*) from stream where @Timestamp >= Now() - 1d or Ms > 1 group by time(1m)",
        &options()
    )
    .message
    .contains("lower bound"));
}

fn fail_with(q: &str, options: &QueryOptions) -> QueryError {
    execute(q, &Variables::new(), options, &sample()).expect_err(q)
}

#[test]
fn time_slices_are_aligned_and_only_hold_data() {
    let r = run_with(
        "select count(*) as n, interval() as width from stream group by time(1m)",
        &ranged(),
        &sample(),
    );
    let j = json_of(&r);
    assert_eq!(r.columns, ["n", "width"]);
    assert!(j.get("Rows").is_none() && j.get("Series").is_none());
    assert_eq!(
        j["Slices"],
        json!([
            {"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [[2, 600_000_000]]},
            {"Time": "2026-01-01T00:01:00.0000000Z", "Rows": [[1, 600_000_000]]},
            {"Time": "2026-01-01T00:02:00.0000000Z", "Rows": [[1, 600_000_000]]},
            {"Time": "2026-01-01T01:01:00.0000000Z", "Rows": [[1, 600_000_000]]},
        ])
    );
    assert_eq!(r.interval_ticks, Some(600_000_000));
    let r = run_with(
        "select count(*) from stream group by time(1h) order by time desc",
        &ranged(),
        &sample(),
    );
    assert_eq!(
        json_of(&r)["Slices"],
        json!([
            {"Time": "2026-01-01T01:00:00.0000000Z", "Rows": [[1]]},
            {"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [[4]]},
        ])
    );
    let e = fail("select count(*) from stream group by Path order by time");
    assert!(e.message.contains("needs `group by time"), "{e}");
    assert!(
        fail("select interval() from stream")
            .message
            .contains("needs `group by time")
    );
}

#[test]
fn time_and_keys_make_series() {
    let r = run_with(
        "select count(*) as n from stream group by Path, time(1h)",
        &ranged(),
        &sample(),
    );
    assert_eq!(r.columns, ["Path", "n"]);
    assert_eq!(
        json_of(&r)["Series"],
        json!([
            {"Key": ["/a"], "Slices": [
                {"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [["/a", 2]]},
                {"Time": "2026-01-01T01:00:00.0000000Z", "Rows": [["/a", 1]]},
            ]},
            {"Key": ["/b"], "Slices": [{"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [["/b", 1]]}]},
            {"Key": ["/c"], "Slices": [{"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [["/c", 1]]}]},
        ])
    );
    let r = run_with(
        "select count(*) as n from stream group by Path, time(1h) order by Path desc limit 2",
        &ranged(),
        &sample(),
    );
    let keys: Vec<Json> = json_of(&r)["Series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Key"].clone())
        .collect();
    assert_eq!(keys, [json!(["/c"]), json!(["/b"])]);
}

#[test]
fn first_and_last_go_by_timestamp_not_feed_order() {
    let mut events = sample();
    events.reverse();
    let r = run_with(
        "select first(Path), last(Path), first(Ms), last(Ms), first(Missing) from stream",
        &options(),
        &events,
    );
    assert_eq!(rows(&r), json!([["/a", "/a", 10, null, null]]));
    let r = run_with("select last(Service) from stream", &options(), &events);
    assert_eq!(rows(&r), json!([["db"]]), "last where the value is defined");
}

#[test]
fn any_and_all_over_predicates() {
    let r =
        run("select any(Ok), all(Ok), any(Ms > 25), all(Ms > 5) from stream group by Service ci");
    assert_eq!(
        rows(&r),
        json!([
            [null, false, false, false, false],
            ["db", false, false, true, false],
            ["web", true, true, false, true]
        ])
    );
}

#[test]
fn distinct_is_a_rowset() {
    let r = run("select distinct(Path) from stream");
    assert_eq!(
        rows(&r),
        json!([["/a"], ["/b"], ["/c"]]),
        "first-seen order"
    );
    let r = run("select distinct(Service) ci from stream");
    assert_eq!(rows(&r), json!([["web"], ["db"]]), "undefined is skipped");
    let r = run("select ToUpper(distinct(Path)) as p from stream group by Service ci");
    assert_eq!(
        rows(&r),
        json!([
            [null, "/A"],
            ["db", "/A"],
            ["db", "/C"],
            ["web", "/A"],
            ["web", "/B"]
        ])
    );
    let r = run(
        "select count(distinct(Service)), count(distinct(Service)) ci, count(distinct(Path)) from stream",
    );
    assert_eq!(rows(&r), json!([[3, 2, 3]]));
    let e = fail("select distinct(Path), count(*) from stream");
    assert!(e.message.contains("must be the only aggregate"), "{e}");
}

#[test]
fn top_and_bottom_by_time() {
    let r = run("select top(Path, 2) from stream");
    assert_eq!(
        rows(&r),
        json!([["/a"], ["/c"]]),
        "the latest two, newest first"
    );
    let r = run("select bottom(Path, 2) from stream");
    assert_eq!(
        rows(&r),
        json!([["/b"], ["/a"]]),
        "the earliest two, newest first"
    );
    let r = run("select top(Ms, 10) from stream group by Service");
    assert_eq!(
        rows(&r),
        json!([
            [null, null],
            ["Web", 20],
            ["db", "n/a"],
            ["db", 30],
            ["web", 10]
        ])
    );
    assert!(
        fail("select top(Path, 2), bottom(Path, 1) from stream")
            .message
            .contains("only aggregate")
    );
    assert!(
        fail("select top(Path, Ms) from stream")
            .message
            .contains("constant number")
    );
}

#[test]
fn projections_are_rows_per_event() {
    let r = run("select Path, Ms * 2 as double from stream limit 2");
    assert_eq!(r.columns, ["Path", "double"]);
    assert_eq!(
        rows(&r),
        json!([["/a", 20], ["/b", 40]]),
        "feed order, stopped at the limit"
    );
    let r = run("select Path, Ms from stream where Has(Ms) order by Ms desc limit 3");
    assert_eq!(rows(&r), json!([["/c", "n/a"], ["/a", 30], ["/b", 20]]));
    let r = run("select Path as p from stream having p <> '/a'");
    assert_eq!(rows(&r), json!([["/b"], ["/c"]]));
}

#[test]
fn projection_top_k_keeps_the_best_rows() {
    let events: Vec<StoredEvent> = (0..10_000)
        .map(|i| ev(i, i as i64, json!({"K": (i * 7919) % 10_000})))
        .collect();
    let r = run_with(
        "select K from stream order by K desc limit 3",
        &options(),
        &events,
    );
    assert_eq!(rows(&r), json!([[9999], [9998], [9997]]));
}

#[test]
fn errors_have_positions_and_suggestions() {
    let e = fail("select count(* from stream");
    assert_eq!(e.kind, QueryErrorKind::Invalid);
    assert!(e.message.starts_with("Syntax error at position"), "{e}");
    assert!(e.position.is_some());
    let e = fail("count(*) from stream");
    assert!(e.message.contains("must start with `select`"), "{e}");
    let e = fail("select count(sum(Ms)) from stream");
    assert!(
        e.message
            .contains("cannot be used inside another aggregate"),
        "{e}"
    );
    assert_eq!(e.position, Some(14));
    let e = fail("select count(*) from stream where count(*) > 1");
    assert!(e.message.contains("cannot be used in `where`"), "{e}");
    assert!(
        fail("select phist(Ms, 10, 50) from stream")
            .message
            .contains("phist")
    );
    assert!(fail("select sum(Ms) ci from stream").message.contains("ci"));
    assert!(
        fail("select percentile(Ms, 101) from stream")
            .message
            .contains("from 0 to 100")
    );
    assert!(
        fail("select count(*) from series")
            .message
            .contains("from series")
    );
    assert!(
        fail("select Frob(count(*)) from stream")
            .message
            .contains("not a known function")
    );
}

#[test]
fn budgets_stop_runaway_queries() {
    let events: Vec<StoredEvent> = (0..50).map(|i| ev(i, i as i64, json!({"K": i}))).collect();
    let tight = QueryOptions {
        limits: Limits {
            max_groups: 10,
            max_values: 20,
        },
        ..options()
    };
    let e = execute(
        "select count(*) from stream group by K",
        &Variables::new(),
        &tight,
        &events,
    )
    .unwrap_err();
    assert_eq!(e.kind, QueryErrorKind::Budget);
    assert_eq!(
        e.message,
        "The query needs more memory than its budget allows; narrow the range or group by fewer keys."
    );
    for q in [
        "select percentile(K, 50) from stream",
        "select distinct(K) from stream",
        "select K from stream order by K",
    ] {
        let e = execute(q, &Variables::new(), &tight, &events).unwrap_err();
        assert_eq!(e.kind, QueryErrorKind::Budget, "{q}");
    }
    execute(
        "select count(distinct(K % 5)) from stream",
        &Variables::new(),
        &tight,
        &events,
    )
    .unwrap();
}

#[test]
fn cancellation_and_deadline_stop_feeding() {
    let events: Vec<StoredEvent> = (0..1000).map(|i| ev(i, i as i64, json!({}))).collect();
    let cancel = Arc::new(AtomicBool::new(true));
    let o = QueryOptions {
        cancel: Some(cancel),
        ..options()
    };
    let e = execute(
        "select count(*) from stream",
        &Variables::new(),
        &o,
        &events,
    )
    .unwrap_err();
    assert_eq!(e.kind, QueryErrorKind::Cancelled);
    let o = QueryOptions {
        deadline: Some(std::time::Instant::now()),
        ..options()
    };
    let e = execute(
        "select count(*) from stream",
        &Variables::new(),
        &o,
        &events,
    )
    .unwrap_err();
    assert_eq!(e.kind, QueryErrorKind::Timeout);
}

#[test]
fn the_range_and_where_bound_what_is_read() {
    let o = QueryOptions {
        range_start: Some(ticks("2026-01-01T00:00:30Z")),
        range_end: Some(ticks("2026-01-01T00:02:30Z")),
        ..options()
    };
    let r = run_with("select count(*) from stream", &o, &sample());
    assert_eq!(rows(&r), json!([[2]]), "start inclusive, end exclusive");
    let plan = Plan::new(
        "select count(*) from stream where @Timestamp >= DateTime('2026-01-01T00:01:00Z') and @Timestamp < DateTime('2026-01-01T00:02:00Z')",
        &Variables::new(),
        &o,
    )
    .unwrap();
    assert_eq!(
        plan.time_range(),
        (
            Some(ticks("2026-01-01T00:01:00Z")),
            Some(ticks("2026-01-01T00:02:00Z"))
        )
    );
}

#[test]
fn csv_has_a_header_and_quotes_as_rfc_4180() {
    let events = vec![
        ev(1, 0, json!({"Name": "plain", "N": 1.50})),
        ev(2, 1, json!({"Name": "a, \"quoted\"\nline", "N": [1, 2]})),
    ];
    let r = run_with(
        "select Name, N as 'the n', Missing from stream",
        &options(),
        &events,
    );
    assert_eq!(
        r.to_csv(),
        "Name,the n,Missing\r\nplain,1.5,\r\n\"a, \"\"quoted\"\"\nline\",\"[1,2]\",\r\n"
    );
    let r = run_with(
        "select count(*) from stream group by time(1d)",
        &ranged(),
        &events,
    );
    assert_eq!(
        r.to_csv(),
        "Time,count(*)\r\n2026-01-01T00:00:00.0000000Z,2\r\n"
    );
}

#[test]
fn for_options_are_accepted() {
    let r = run("select count(*) from stream for refresh, no_cache");
    assert_eq!(rows(&r), json!([[5]]));
}

#[test]
fn builtins_lambdas_and_wildcards_work_in_every_clause() {
    let events = vec![
        ev(1, 0, json!({"Tags": ["a", "b"], "Ms": 5})),
        ev(2, 1, json!({"Tags": ["c"], "Ms": 7})),
        ev(3, 2, json!({"Tags": [], "Ms": 9})),
    ];
    let r = run_with(
        "select count(*) as c, any(Some(Tags, |t| t = 'c')) as hasC, count(Tags[?] = 'a') as withA, \
         sum(Ms) / count(*) as avg from stream where Tags[*] <> 'z' group by @Level as level order by level",
        &options(),
        &events,
    );
    assert_eq!(r.columns, ["level", "c", "hasC", "withA", "avg"]);
    assert_eq!(rows(&r), json!([["Information", 3, true, 3, 7]]));
    let r = run_with(
        "select count(*) from stream group by @Level",
        &options(),
        &events,
    );
    assert_eq!(r.columns, ["@Level", "count(*)"]);
    let e = fail("select Path, count(*) from stream group by Path");
    assert!(e.message.contains("already a column"), "{e}");
}
