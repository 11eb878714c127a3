//! `decode_message` end to end: the RFCs' own examples, real senders' output, bad input.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::*;

fn received() -> Timestamp {
    Timestamp::parse("2026-12-03T12:00:00Z").unwrap()
}

fn decode(bytes: &[u8]) -> Event {
    decode_message(bytes, received(), None).unwrap_or_else(|e| panic!("{e}: {bytes:?}"))
}

/// The event as CLEF-like JSON, to compare whole.
fn clef(e: &Event) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("@t".into(), e.timestamp.to_iso().into());
    out.insert("@l".into(), e.level.clone().into());
    if let Some(m) = &e.message {
        out.insert("@m".into(), m.clone().into());
    }
    for (k, v) in &e.properties {
        out.insert(k.clone(), v.clone());
    }
    assert_eq!(
        e.event_type,
        seqr_types::event_type::of_template(e.template_or_message())
    );
    Value::Object(out)
}

#[test]
fn rfc5424_example_1_bom_and_nil_procid() {
    let e = decode(b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(
        clef(&e),
        json!({
            "@t": "2003-10-11T22:14:15.0030000Z", "@l": "crit",
            "@m": "'su root' failed for lonvick on /dev/pts/8",
            "facility": "auth", "hostname": "mymachine.example.com", "app_name": "su",
            "message_id": "ID47"
        })
    );
}

#[test]
fn rfc5424_example_2_offset_and_microseconds() {
    let e = decode(b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
    assert_eq!(
        clef(&e),
        json!({
            "@t": "2003-08-24T12:14:15.0000030Z", "@l": "notice",
            "@m": "%% It's time to make the do-nuts.",
            "facility": "local4", "hostname": "192.0.2.1", "app_name": "myproc",
            "proc_id": "8710"
        })
    );
}

#[test]
fn rfc5424_example_3_structured_data_as_squiflog_writes_it() {
    let e = decode(b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...");
    assert_eq!(
        clef(&e),
        json!({
            "@t": "2003-10-11T22:14:15.0030000Z", "@l": "notice",
            "@m": "An application event log entry...",
            "facility": "local4", "hostname": "mymachine.example.com", "app_name": "evntslog",
            "message_id": "ID47",
            "exampleSDID@32473": [{"iut": "3"}, {"eventSource": "Application"}, {"eventID": "1011"}]
        })
    );
}

#[test]
fn rfc5424_example_4_two_elements_and_no_msg() {
    let e = decode(b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]");
    assert_eq!(e.message, None);
    assert_eq!(
        e.properties["examplePriority@32473"],
        json!([{"class": "high"}])
    );
    assert_eq!(
        e.properties["exampleSDID@32473"].as_array().unwrap().len(),
        3
    );
    assert_eq!(e.event_type, seqr_types::event_type::of_template(""));
}

#[test]
fn rfc5424_all_nil() {
    let e = decode(b"<0>1 - - - - - -");
    assert_eq!(
        clef(&e),
        json!({"@t": "2026-12-03T12:00:00.0000000Z", "@l": "emerg", "facility": "kern"})
    );
}

#[test]
fn util_linux_logger_rfc5424() {
    // Captured from `logger --rfc5424 --sd-id exampleSDID@32473 --sd-param 'iut="3"' ...`.
    let e = decode(b"<165>1 2026-12-03T11:59:53.596024+00:00 vm evntslog - ID47 [timeQuality tzKnown=\"1\" isSynced=\"0\"][exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event log entry...");
    assert_eq!(
        clef(&e),
        json!({
            "@t": "2026-12-03T11:59:53.5960240Z", "@l": "notice",
            "@m": "An application event log entry...",
            "facility": "local4", "hostname": "vm", "app_name": "evntslog", "message_id": "ID47",
            "timeQuality": [{"tzKnown": "1"}, {"isSynced": "0"}],
            "exampleSDID@32473": [{"iut": "3"}, {"eventSource": "Application"}]
        })
    );
    // SD escapes as logger writes them.
    let e = decode(br#"<13>1 2026-12-03T11:59:58.459862+00:00 vm esc - - [timeQuality tzKnown="1" isSynced="0"][meta@32473 v="a \"q\" b\\c \]d"] escaped sd"#);
    assert_eq!(
        e.properties["meta@32473"],
        json!([{"v": r#"a "q" b\c ]d"#}])
    );
    assert_eq!(e.message.as_deref(), Some("escaped sd"));
    // --rfc5424=notime,nohost: NIL timestamp and hostname.
    let e = decode(b"<13>1 - - myapp - - - no time no host");
    assert_eq!(e.timestamp, received());
    assert_eq!(e.properties.get("hostname"), None);
    assert_eq!(e.properties["app_name"], "myapp");
    // A multi-line message, and bytes that are not UTF-8.
    let e = decode(b"<13>1 2026-12-03T11:59:58.462731+00:00 vm multi - - - line one\nline two\n");
    assert_eq!(e.message.as_deref(), Some("line one\nline two"));
    let e = decode(b"<13>1 2026-12-03T11:59:58.465609+00:00 vm bin - - - x\xffy");
    assert_eq!(e.message.as_deref(), Some("x\u{fffd}y"));
}

#[test]
fn rfc5424_repeated_params_and_ids_are_all_kept() {
    let e = decode(br#"<13>1 - h a - - [x ip="192.0.2.1" ip="192.0.2.129"][x n="1"] m"#);
    assert_eq!(
        e.properties["x"],
        json!([{"ip": "192.0.2.1"}, {"ip": "192.0.2.129"}, {"n": "1"}])
    );
    // An SD-ID named like a header property does not replace it.
    let e = decode(br#"<13>1 - real a - - [hostname v="fake"] m"#);
    assert_eq!(e.properties["hostname"], "real");
    assert_eq!(e.properties["__hostname"], json!([{"v": "fake"}]));
}

#[test]
fn rfc3164_shapes() {
    // The RFC's example, and logger --rfc3164.
    let e = decode(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(
        clef(&e),
        json!({
            "@t": "2026-10-11T22:14:15.0000000Z", "@l": "crit",
            "@m": "'su root' failed for lonvick on /dev/pts/8",
            "facility": "auth", "hostname": "mymachine", "app_name": "su"
        })
    );
    let e = decode(b"<78>Dec  3 11:59:53 vm cron[5331]: job ran");
    assert_eq!(
        clef(&e),
        json!({
            "@t": "2026-12-03T11:59:53.0000000Z", "@l": "info", "@m": "job ran",
            "facility": "cron", "hostname": "vm", "app_name": "cron", "proc_id": "5331"
        })
    );
    // RSYSLOG_ForwardFormat: an RFC 3339 timestamp in the BSD header.
    let e =
        decode(b"<86>2026-12-03T11:59:53.123456+01:00 web01 sshd[812]: Accepted publickey for bob");
    assert_eq!(e.timestamp.to_iso(), "2026-12-03T10:59:53.1234560Z");
    assert_eq!(e.properties["hostname"], "web01");
    assert_eq!(e.properties["facility"], "authpriv");
    assert_eq!(e.message.as_deref(), Some("Accepted publickey for bob"));
    // A time in December received in January is last December's.
    let e = decode_message(
        b"<13>Dec 31 23:59:59 h a: m",
        Timestamp::parse("2027-01-01T00:00:30Z").unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(e.timestamp.to_iso(), "2026-12-31T23:59:59.0000000Z");
}

#[test]
fn python_sysloghandler_no_timestamp_no_hostname() {
    let peer: IpAddr = "192.0.2.7".parse().unwrap();
    let e = decode_message(
        b"<134>syslog-udp[15181]: Hello alice from syslog-udp\x00",
        received(),
        Some(peer),
    )
    .unwrap();
    assert_eq!(
        clef(&e),
        json!({
            "@t": "2026-12-03T12:00:00.0000000Z", "@l": "info",
            "@m": "Hello alice from syslog-udp",
            "facility": "local0", "hostname": "192.0.2.7", "app_name": "syslog-udp",
            "proc_id": "15181"
        })
    );
    // The traceback stays in the message: syslog has no exception field.
    let e = decode(b"<131>app[1]: Operation failed\nTraceback (most recent call last):\n  File \"x.py\"\nValueError: boom\x00");
    assert_eq!(e.level.as_deref(), Some("err"));
    assert_eq!(
        e.message.as_deref(),
        Some(
            "Operation failed\nTraceback (most recent call last):\n  File \"x.py\"\nValueError: boom"
        )
    );
    assert_eq!(e.exception, None);
}

#[test]
fn hostname_from_the_peer_only_when_missing() {
    let v4: IpAddr = "10.1.2.3".parse().unwrap();
    let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    let host = |bytes: &[u8], peer| {
        decode_message(bytes, received(), Some(peer))
            .unwrap()
            .properties["hostname"]
            .clone()
    };
    assert_eq!(host(b"<13>hello", v4), "10.1.2.3");
    assert_eq!(host(b"<13>hello", mapped), "10.1.2.3");
    assert_eq!(host(b"<13>hello", v6), "2001:db8::1");
    assert_eq!(host(b"<13>1 - - - - - - x", v4), "10.1.2.3");
    assert_eq!(host(b"<13>Oct 11 22:14:15 named app: m", v4), "named");
    assert_eq!(host(b"<13>1 - named - - - - x", v4), "named");
}

#[test]
fn missing_pri_is_user_notice() {
    let e = decode(b"Use the BFG!");
    assert_eq!(e.level.as_deref(), Some("notice"));
    assert_eq!(e.properties["facility"], "user");
    assert_eq!(e.message.as_deref(), Some("Use the BFG!"));
    // A forwarded log file line keeps its header.
    let e = decode(b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown");
    assert_eq!(e.properties["hostname"], "combo");
    assert_eq!(e.properties["app_name"], "sshd(pam_unix)");
    assert_eq!(e.message.as_deref(), Some("check pass; user unknown"));
}

#[test]
fn cisco_style_messages_are_kept_whole() {
    let text = "123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by console";
    let e = decode(format!("<189>{text}").as_bytes());
    assert_eq!(e.level.as_deref(), Some("notice"));
    assert_eq!(e.properties["facility"], "local7");
    assert_eq!(e.message.as_deref(), Some(text));
    assert_eq!(e.timestamp, received());
}

#[test]
fn a_5424_lookalike_falls_back_to_3164() {
    // Version 1 but no RFC 5424 header: the whole text is the message, as in squiflog.
    let e = decode(b"<13>1 apple a day");
    assert_eq!(e.message.as_deref(), Some("1 apple a day"));
    let e = decode(b"<13>1 2003-99-11T22:14:15Z host app - - - m");
    assert_eq!(
        e.message.as_deref(),
        Some("1 2003-99-11T22:14:15Z host app - - - m")
    );
}

#[test]
fn every_severity_and_facility() {
    let severities = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    let facilities = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    for (f, facility) in facilities.iter().enumerate() {
        for (s, severity) in severities.iter().enumerate() {
            let e = decode(format!("<{}>m", f * 8 + s).as_bytes());
            assert_eq!(e.level.as_deref(), Some(*severity));
            assert_eq!(e.properties["facility"], *facility);
            assert!(seqr_types::CanonicalLevel::from_alias(severity).is_some());
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let cases: [(&[u8], SyslogError); 9] = [
        (b"", SyslogError::Empty),
        (b" \r\n\0\0", SyslogError::Empty),
        (b"<", SyslogError::BadPriority),
        (b"<999>hello", SyslogError::BadPriority),
        (b"<192>hello", SyslogError::BadPriority),
        (b"<12", SyslogError::BadPriority),
        (b"<>x", SyslogError::BadPriority),
        (b"\x00\x01\x02\xff\xfe binary", SyslogError::NotSyslog),
        (b"\x1b[31mcolour\x1b[0m", SyslogError::NotSyslog),
    ];
    for (bytes, error) in cases {
        assert_eq!(
            decode_message(bytes, received(), None),
            Err(error),
            "{bytes:?}"
        );
    }
    // A PRI alone is a message with nothing to say, not an error.
    assert_eq!(decode(b"<13>").message, None);
    assert!(SyslogError::BadPriority.to_string().ends_with('.'));
}
