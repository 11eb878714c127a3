//! `api/data` over HTTP: SQL-style queries with Seq's `QueryResultPart` shapes, CSV, errors
//! as 400 bodies, and the caller's view filter AND-ed into every query.

use seqr_meta::{PermissionSet, roles};
use serde_json::{Value, json};

use crate::{PASSWORD, TestServer, create_key, create_user, json_of, sign_in};

const BATCH: &str = concat!(
    r#"{"@t":"2026-01-01T00:00:00Z","@mt":"GET {Path}","Path":"/a","Elapsed":10,"Service":"web"}"#,
    "\n",
    r#"{"@t":"2026-01-01T00:00:30Z","@mt":"GET {Path}","Path":"/b","Elapsed":20,"Service":"Web"}"#,
    "\n",
    r#"{"@t":"2026-01-01T00:01:10Z","@mt":"GET {Path}","Path":"/a","Elapsed":30,"Service":"db","@l":"Error"}"#,
    "\n",
    r#"{"@t":"2026-01-01T01:00:00Z","@mt":"GET {Path}","Path":"/c","Elapsed":40.5,"Service":"db"}"#,
);

const START: &str = "2026-01-01T00:00:00.0000000Z";

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Fixture {
    server: TestServer,
    key: String,
}

fn fixture() -> Fixture {
    let server = TestServer::start_authenticating();
    let key = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let (status, _, body) = server.request_with(
        "POST",
        "/api/events/raw?clef",
        &[("X-Seq-ApiKey", &key)],
        BATCH,
    );
    assert_eq!(status, 201, "{body}");
    Fixture { server, key }
}

impl Fixture {
    /// `GET api/data` with `q` and extra parameters: (status, head, body).
    fn get(&self, q: &str, extra: &str) -> (u16, String, String) {
        self.server.request_with(
            "GET",
            &format!("/api/data?q={}{extra}", encode(q)),
            &[("X-Seq-ApiKey", &self.key)],
            "",
        )
    }

    /// A successful query's JSON.
    fn query(&self, q: &str, extra: &str) -> Value {
        let (status, head, body) = self.get(q, extra);
        assert_eq!(status, 200, "{q}: {body}");
        assert!(head.contains("content-type: application/json"), "{head}");
        json_of(&body)
    }

    /// A failed query: (status, JSON body).
    fn error(&self, q: &str, extra: &str) -> (u16, Value) {
        let (status, _, body) = self.get(q, extra);
        assert_ne!(status, 200, "{q}: {body}");
        (status, json_of(&body))
    }
}

#[test]
fn counts_groups_and_aggregates_come_back_as_rows() {
    let f = fixture();
    let r = f.query("select count(*) from stream", "");
    assert_eq!(r["Columns"], json!(["count(*)"]));
    assert_eq!(r["Rows"], json!([[4]]));
    assert!(r.get("Slices").is_none() && r.get("Series").is_none());
    assert!(r["Statistics"]["ElapsedMilliseconds"].is_number(), "{r}");
    assert_eq!(r["Statistics"]["MatchingEventCount"], 4);

    let r = f.query(
        "select count(*) as Requests, mean(Elapsed) as Mean, max(Elapsed), first(Path) from stream group by Service ci",
        "",
    );
    assert_eq!(
        r["Columns"],
        json!(["Service", "Requests", "Mean", "max(Elapsed)", "first(Path)"])
    );
    assert_eq!(
        r["Rows"],
        json!([["db", 2, 35.25, 40.5, "/a"], ["web", 2, 15, 20, "/a"]]),
        "group keys first, numbers without trailing zeros"
    );

    let r = f.query(
        "select Round(TotalMilliseconds(percentile(Elapsed * 10000, 95)), 2) as p95, Concat(ToJson(count(*)), ' events') as label from stream where @Level = 'Information'",
        "",
    );
    assert_eq!(r["Rows"], json!([[40.5, "3 events"]]));

    let r = f.query("select Path, Elapsed from stream limit 2", "");
    assert_eq!(
        r["Rows"],
        json!([["/c", 40.5], ["/a", 30]]),
        "projections are newest first"
    );
}

#[test]
fn having_order_by_and_limit() {
    let f = fixture();
    let r = f.query(
        "select count(*) as n, sum(Elapsed) as total from stream group by Path having n > 1 or total > 35 order by total desc",
        "",
    );
    assert_eq!(r["Rows"], json!([["/c", 1, 40.5], ["/a", 2, 40]]));
    let r = f.query(
        "select count(*) as n from stream group by Path order by n desc limit 1",
        "",
    );
    assert_eq!(r["Rows"], json!([["/a", 2]]));
}

#[test]
fn time_slices_and_series() {
    let f = fixture();
    let range = format!("&rangeStartUtc={}", encode(START));
    let r = f.query("select count(*) as n from stream group by time(1m)", &range);
    assert_eq!(r["Columns"], json!(["n"]));
    assert!(r.get("Rows").is_none());
    assert_eq!(
        r["Slices"],
        json!([
            {"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [[2]]},
            {"Time": "2026-01-01T00:01:00.0000000Z", "Rows": [[1]]},
            {"Time": "2026-01-01T01:00:00.0000000Z", "Rows": [[1]]},
        ])
    );
    let r = f.query(
        "select count(*) / interval() * 10000000 as PerSecond from stream group by time(1h) order by time desc",
        &range,
    );
    assert_eq!(r["Slices"][0]["Time"], "2026-01-01T01:00:00.0000000Z");
    let per_second = r["Slices"][1]["Rows"][0][0].as_f64().unwrap();
    assert!((per_second - 3.0 / 3600.0).abs() < 1e-12, "{r}");

    let r = f.query(
        "select count(*) as n from stream group by Path, time(1h)",
        &range,
    );
    assert_eq!(r["Columns"], json!(["Path", "n"]));
    assert_eq!(
        r["Series"],
        json!([
            {"Key": ["/a"], "Slices": [{"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [["/a", 2]]}]},
            {"Key": ["/b"], "Slices": [{"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [["/b", 1]]}]},
            {"Key": ["/c"], "Slices": [{"Time": "2026-01-01T01:00:00.0000000Z", "Rows": [["/c", 1]]}]},
        ])
    );

    // The range bounds what is read: start inclusive, end exclusive.
    let r = f.query(
        "select count(*) from stream",
        &format!(
            "&rangeStartUtc={}&rangeEndUtc={}",
            encode("2026-01-01T00:00:30Z"),
            encode("2026-01-01T01:00:00Z")
        ),
    );
    assert_eq!(r["Rows"], json!([[2]]));

    let (status, body) = f.error("select count(*) from stream group by time(1m)", "");
    assert_eq!(status, 400);
    assert!(
        body["Error"]
            .as_str()
            .unwrap()
            .contains("group by time() needs a lower bound on @Timestamp, such as rangeStartUtc"),
        "{body}"
    );
    let r = f.query(
        "select count(*) from stream where @Timestamp >= DateTime('2026-01-01T00:01:00Z') group by time(1d)",
        "",
    );
    assert_eq!(
        r["Slices"],
        json!([{"Time": "2026-01-01T00:00:00.0000000Z", "Rows": [[2]]}])
    );
}

#[test]
fn scalar_queries_and_variables() {
    let f = fixture();
    let r = f.query(
        "select 1 + 1 as two, ToIsoString(DateTime('2026-03-01')) as d",
        "",
    );
    assert_eq!(r["Rows"], json!([[2, "2026-03-01T00:00:00.0000000Z"]]));
    assert!(r.get("Variables").is_none());

    let post = |q: &str, body: &str| {
        let (status, _, body) = f.server.request_with(
            "POST",
            &format!("/api/data?q={}", encode(q)),
            &[("X-Seq-ApiKey", &f.key)],
            body,
        );
        (status, json_of(&body))
    };
    let (status, r) = post(
        "select 0.1 + 0.2 into $x",
        r#"{"Signal":null,"Variables":null}"#,
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["Variables"], json!({"x": 0.3}));
    let (status, r) = post(
        "select count(*) from stream where Service = $svc",
        r#"{"Signal":null,"Variables":{"svc":"db"}}"#,
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["Rows"], json!([[2]]));
    // Older Seq.Api versions post an empty unsaved signal.
    let (status, r) = post(
        "select count(*) from stream",
        r#"{"Title":"New Signal","Description":null,"Filters":[],"TaggedProperties":[],"IsWatched":false,"IsProtected":false,"Grouping":"Inferred","ExplicitGroupName":null,"Id":null,"Links":{}}"#,
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["Rows"], json!([[4]]));

    let (status, r) = post("select $nope", "");
    assert_eq!(status, 400);
    assert!(
        r["Error"]
            .as_str()
            .unwrap()
            .contains("`$nope` is not defined"),
        "{r}"
    );
    assert_eq!(
        r["Suggestion"],
        "assign it first with `select <value> into $nope`"
    );
    let (status, r) = post(
        "select 1",
        r#"{"Signal":{"Title":"x","Filters":[{"Filter":"A = 1"}]}}"#,
    );
    assert_eq!(status, 400);
    assert!(
        r["Error"]
            .as_str()
            .unwrap()
            .contains("signals are not supported"),
        "{r}"
    );
}

#[test]
fn csv_format() {
    let f = fixture();
    let (status, head, body) = f.get(
        "select count(*) as n, Concat('a, \"', Service) as label from stream group by Service",
        "&format=text%2Fcsv",
    );
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("content-type: text/csv"), "{head}");
    assert_eq!(
        body,
        "Service,n,label\r\nWeb,1,\"a, \"\"Web\"\r\ndb,2,\"a, \"\"db\"\r\nweb,1,\"a, \"\"web\"\r\n"
    );
    let (_, _, body) = f.get(
        "select count(*) from stream group by time(1h)",
        &format!("&format=text/csv&rangeStartUtc={}", encode(START)),
    );
    assert_eq!(
        body,
        "Time,count(*)\r\n2026-01-01T00:00:00.0000000Z,3\r\n2026-01-01T01:00:00.0000000Z,1\r\n"
    );
}

#[test]
fn errors_are_400_with_error_reasons_and_suggestion() {
    let f = fixture();
    let (status, body) = f.error("select count(*) from stream where", "");
    assert_eq!(status, 400);
    let error = body["Error"].as_str().unwrap();
    assert_eq!(
        error,
        "Syntax error at position 34: expected an expression but found the end of the input."
    );
    assert_eq!(body["Reasons"], json!([error]));
    // Position 34 is one past the last character: the squiggle goes at the end.
    assert_eq!(body["ErrorSpan"], json!({ "Start": 33, "End": 34 }));

    let (status, body) = f.error("select Path, count(*) from stream group by Service", "");
    assert_eq!(status, 400);
    assert!(
        body["Error"].as_str().unwrap().contains("position 8"),
        "{body}"
    );
    assert_eq!(
        body["Suggestion"],
        "use an aggregate such as `first(Path)`, or add `Path` to `group by`"
    );

    let (status, body) = f.error("@Level = 'Error'", "");
    assert_eq!(status, 400);
    assert!(
        body["Error"]
            .as_str()
            .unwrap()
            .contains("must start with `select`"),
        "{body}"
    );

    let (status, body) = f.error("select count(*) from stream", "&signal=signal-1");
    assert_eq!(status, 400);
    assert!(
        body["Error"]
            .as_str()
            .unwrap()
            .contains("signals are not supported by this seqr build yet"),
        "{body}"
    );

    let (status, _, body) =
        f.server
            .request_with("GET", "/api/data", &[("X-Seq-ApiKey", &f.key)], "");
    assert_eq!(status, 400);
    assert!(body.contains("`q` parameter is required"), "{body}");

    let (status, _) = f.error("select count(*) from stream", "&rangeStartUtc=yesterday");
    assert_eq!(status, 400);
}

#[test]
fn a_query_past_its_timeout_is_503_with_retry_after() {
    let f = fixture();
    let mut batch = String::new();
    for i in 0..20_000 {
        batch.push_str(&format!(
            "{{\"@t\":\"2026-01-02T00:00:00Z\",\"@mt\":\"event {{N}} of many with some padding text\",\"N\":{i}}}\n"
        ));
    }
    let (status, _, body) = f.server.request_with(
        "POST",
        "/api/events/raw?clef",
        &[("X-Seq-ApiKey", &f.key)],
        &batch,
    );
    assert_eq!(status, 201, "{body}");
    let (status, head, body) = f.get(
        "select count(*) from stream where Length(ToJson(@Data)) > 0 and @Message like '%many%'",
        "&timeoutMS=1",
    );
    assert_eq!(status, 503, "{body}");
    assert!(head.contains("retry-after:"), "{head}");
    assert!(
        json_of(&body)["Error"]
            .as_str()
            .unwrap()
            .contains("did not complete within its timeout of 1 ms"),
        "{body}"
    );
}

#[test]
fn a_view_filter_limits_what_queries_see() {
    let f = fixture();
    let alice = create_user(&f.server, "alice", &[roles::USER_READ_ONLY], false);
    let (status, _, body) = f.server.request_with(
        "GET",
        &format!("/api/users/{alice}"),
        &[("X-Seq-ApiKey", &f.key)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let mut entity = json_of(&body);
    entity["ViewFilter"] = json!({ "Filter": "Service = 'db'", "FilterNonStrict": null });
    let (status, _, body) = f.server.request_with(
        "PUT",
        &format!("/api/users/{alice}"),
        &[("X-Seq-ApiKey", &f.key)],
        &entity.to_string(),
    );
    assert_eq!(status, 200, "{body}");

    let (session, _) = sign_in(&f.server, "alice", PASSWORD);
    let as_alice = |method: &str, q: &str| {
        let (status, _, body) = f.server.request_with(
            method,
            &format!("/api/data?q={}", encode(q)),
            &[
                ("Cookie", &session.cookie),
                ("X-Seq-CsrfToken", &session.csrf),
            ],
            "",
        );
        assert_eq!(status, 200, "{q}: {body}");
        json_of(&body)
    };
    assert_eq!(
        as_alice("GET", "select count(*) from stream")["Rows"],
        json!([[2]])
    );
    assert_eq!(
        as_alice("POST", "select count(*) from stream")["Rows"],
        json!([[2]])
    );
    assert_eq!(
        as_alice("GET", "select count(*) from stream where Service <> 'db'")["Rows"],
        json!([[0]]),
        "a where clause cannot widen the view filter"
    );
    assert_eq!(
        as_alice("GET", "select distinct(Path) from stream")["Rows"],
        json!([["/c"], ["/a"]])
    );
    // Everyone else still sees everything.
    assert_eq!(
        f.query("select count(*) from stream", "")["Rows"],
        json!([[4]])
    );
}

#[test]
fn the_query_link_declares_every_parameter() {
    let server = TestServer::start_authenticating();
    let (status, _, body) = server.request("GET", "/api/data/resources", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json_of(&body)["Links"]["Query"],
        "api/data{?q,rangeStartUtc,rangeEndUtc,signal,timeoutMS,trace,format}"
    );
}
