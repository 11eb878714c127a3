use super::*;

/// Every frame and error the framer gives for `chunks` pushed one by one, then at the end.
fn frames(max: usize, chunks: &[&[u8]]) -> Vec<Result<String, SyslogError>> {
    let mut framer = TcpFramer::new(max);
    let mut out = Vec::new();
    let text = |r: Result<Vec<u8>, SyslogError>| r.map(|f| String::from_utf8(f).unwrap());
    for chunk in chunks {
        framer.push(chunk);
        while let Some(frame) = framer.next_frame() {
            out.push(text(frame));
        }
    }
    while let Some(frame) = framer.finish() {
        out.push(text(frame));
    }
    assert_eq!(framer.buffered(), 0);
    out
}

fn ok(frames: &[&str]) -> Vec<Result<String, SyslogError>> {
    frames.iter().map(|f| Ok(f.to_string())).collect()
}

/// `bytes` pushed whole, and one byte at a time, must frame the same.
fn both(max: usize, bytes: &[u8]) -> Vec<Result<String, SyslogError>> {
    let whole = frames(max, &[bytes]);
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(frames(max, &singles), whole, "byte at a time");
    whole
}

#[test]
fn octet_counting_split_across_pushes() {
    let got = frames(
        1024,
        &[b"11 <13>h", b"ello", b" w", b"17 <13>1 - - - ", b"- - -"],
    );
    assert_eq!(got, ok(&["<13>hello w", "<13>1 - - - - - -"]));
    // The count itself split, and logger's octet-counted output.
    let logger = b"105 <31>1 2026-12-03T11:59:53.611667+00:00 vm tcpapp - - [timeQuality tzKnown=\"1\" isSynced=\"0\"] octet counted";
    let got = frames(1024, &[&logger[..1], &logger[1..3], &logger[3..]]);
    assert_eq!(got, ok(&[std::str::from_utf8(&logger[4..]).unwrap()]));
}

#[test]
fn octet_counted_frames_keep_delimiters_inside() {
    assert_eq!(both(64, b"7 a\nb\0c\r\n3 xyz"), ok(&["a\nb\0c\r\n", "xyz"]));
}

#[test]
fn lf_crlf_and_nul_delimiters() {
    assert_eq!(
        both(64, b"<13>a\n<13>b\r\n<13>c\n"),
        ok(&["<13>a", "<13>b", "<13>c"])
    );
    assert_eq!(both(64, b"<13>a\0<13>b\0"), ok(&["<13>a", "<13>b"]));
    // Empty frames are skipped.
    assert_eq!(
        both(64, b"\n\n<13>a\r\n\r\n\0<13>b\n\n"),
        ok(&["<13>a", "<13>b"])
    );
}

#[test]
fn nul_framed_streams_keep_line_breaks() {
    // Python's SysLogHandler: NUL after each message, tracebacks inside them.
    let stream = b"<134>app[1]: hi\0<131>app[1]: failed\nTraceback:\n  x\0";
    assert_eq!(
        frames(256, &[stream]),
        ok(&["<134>app[1]: hi", "<131>app[1]: failed\nTraceback:\n  x"])
    );
    // Learnt from the first frame, so it holds however the bytes arrive.
    let singles: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(frames(256, &singles), frames(256, &[stream]));
    // A traceback as the very first frame, its NUL in the same segment.
    assert_eq!(
        frames(256, &[b"<131>a: x\nTrace\0<134>a: y\0"]),
        ok(&["<131>a: x\nTrace", "<134>a: y"])
    );
}

#[test]
fn mixed_framing_on_one_stream() {
    assert_eq!(
        both(64, b"5 <13>a<13>b\n6 <13>cd\n<13>e"),
        ok(&["<13>a", "<13>b", "<13>cd", "<13>e"])
    );
}

#[test]
fn oversized_frames_are_skipped_then_the_stream_continues() {
    let too_large = Err(SyslogError::FrameTooLarge { limit: 9 });
    // Non-transparent: resynchronised at the next delimiter.
    assert_eq!(
        both(9, b"<13>0123456789\n<13>ok\n"),
        vec![too_large.clone(), Ok("<13>ok".into())]
    );
    // Octet counted: exactly LEN bytes skipped, even when they hold delimiters.
    assert_eq!(
        both(9, b"12 <13>a\nb\nc\nde9 <13>okay\n"),
        vec![too_large.clone(), Ok("<13>okay\n".into())]
    );
}

#[test]
fn oversized_frames_are_never_buffered() {
    let mut framer = TcpFramer::new(100);
    framer.push(b"<13>");
    for _ in 0..1000 {
        framer.push(&[b'x'; 50]);
        while let Some(frame) = framer.next_frame() {
            assert_eq!(frame, Err(SyslogError::FrameTooLarge { limit: 100 }));
        }
        assert!(framer.buffered() <= 100, "{}", framer.buffered());
    }
    framer.push(b"\n<13>ok\n");
    assert_eq!(framer.next_frame(), Some(Ok(b"<13>ok".to_vec())));
    // An octet count of a gigabyte is skipped as it arrives.
    let mut framer = TcpFramer::new(100);
    framer.push(b"999999999 ");
    assert_eq!(
        framer.next_frame(),
        Some(Err(SyslogError::FrameTooLarge { limit: 100 }))
    );
    for _ in 0..100 {
        framer.push(&[b'x'; 4096]);
        assert_eq!(framer.buffered(), 0);
        assert_eq!(framer.next_frame(), None);
    }
}

#[test]
fn bogus_octet_counts() {
    assert_eq!(
        both(1 << 20, b"99999999999 <13>x\n<13>next\n"),
        vec![Err(SyslogError::BadOctetCount), Ok("<13>next".into())]
    );
    assert_eq!(
        both(64, b"0 <13>x\n<13>next\n"),
        vec![Err(SyslogError::BadOctetCount), Ok("<13>next".into())]
    );
    // Digits without a space are a PRI-less message, not a count.
    assert_eq!(
        both(64, b"2024-06-19 hello\n123\n"),
        ok(&["2024-06-19 hello", "123"])
    );
}

#[test]
fn finish_returns_the_unterminated_tail() {
    assert_eq!(
        frames(64, &[b"<13>a\n<13>tail\r"]),
        ok(&["<13>a", "<13>tail"])
    );
    assert_eq!(
        frames(64, &[b"10 <13>ab"]),
        vec![Err(SyslogError::TruncatedFrame {
            expected: 10,
            received: 6
        })]
    );
    assert_eq!(frames(64, &[b"12"]), ok(&["12"]));
    assert_eq!(frames(64, &[b""]), ok(&[]));
    assert_eq!(frames(64, &[b"\n\0\r\n"]), ok(&[]));
    // An oversized tail was already reported.
    assert_eq!(
        frames(4, &[b"<13>long"]),
        vec![Err(SyslogError::FrameTooLarge { limit: 4 })]
    );
}
