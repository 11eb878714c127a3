#!/usr/bin/env python3
"""Writes the seed corpora in corpus/decode/ and corpus/reassemble/ (run from this directory;
deterministic, so rerunning gives the same files).

Seeds come from the captured pygelf and graypy payloads in
../../../../shared/data/client-fixtures/ (beside the repository), their truncations and bit
flips, and hand-made edge cases: embedded CLEF, odd timestamps and levels, name clashes, bombs,
bad chunk headers, floods of partial chunk sets. A `reassemble` input is a selector byte (see
tests/common/mod.rs) and then datagrams, each after a 2-byte big-endian length.
"""

import base64
import gzip
import hashlib
import json
import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "../../../../shared/data/client-fixtures")
CLIENTS = ["pygelf", "graypy"]


def captures(name):
    """(wire bytes, is chunk, decoded text or None) for each payload in a fixture."""
    lines = open(os.path.join(FIXTURES, name + ".txt"), encoding="utf-8").read().split("\n")
    out = []
    for line, nxt in zip(lines, lines[1:]):
        if not line.startswith("["):
            continue
        if "base64" in line:
            out.append([base64.b64decode(nxt), line.startswith("[GELF chunk"), None])
        elif "python-escaped" in line:
            out.append([unescape(nxt), False, None])
        elif "decompressed" in line or line.startswith("[decoded"):
            out[-1][2] = nxt
    return out


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = text[i + 1]
        if n == "x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
            continue
        out += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(n, n.encode())
        i += 2
    return bytes(out)


def write(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def flip(data, rng, n=3):
    b = bytearray(data)
    for _ in range(n):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def gz(data):
    return gzip.compress(data, mtime=0)


def chunk(msg_id, seq, count, payload):
    return b"\x1e\x0f" + struct.pack(">QBB", msg_id, seq, count) + payload


def split(msg_id, message, count):
    size = -(-len(message) // count)
    return [chunk(msg_id, i, count, message[i * size : (i + 1) * size]) for i in range(count)]


def framed(selector, datagrams):
    out = bytearray([selector])
    for d in datagrams:
        out += struct.pack(">H", len(d)) + d
    return bytes(out)


def main():
    rng = random.Random(20261124)
    for target in ["decode", "reassemble"]:
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))

    # --- decode -----------------------------------------------------------------------
    plain = []
    for client in CLIENTS:
        for transport in ["udp", "http"]:
            for wire, _, decoded in captures(f"{client}-{transport}"):
                write("decode", wire)
                write("decode", decoded.encode())
                plain.append(decoded.encode())
        [(stream, _, _)] = captures(f"{client}-tcp")
        write("decode", stream)
        write("decode", stream[: len(stream) // 2])
        chunks = captures(f"{client}-udp-chunked")
        write("decode", b"".join(c[0][12:] for c in chunks))
    for i, p in enumerate(plain[:6]):
        write("decode", gz(p) if i % 2 else zlib.compress(p, 9))
        write("decode", p[: rng.randrange(1, len(p))])
        write("decode", flip(p, rng))
        z = zlib.compress(p)
        write("decode", z[: rng.randrange(2, len(z))])
        write("decode", flip(z, rng, 1))
    cases = [
        {"short_message": json.dumps({"@t": "2013-11-21T17:11:02Z", "@l": "info",
                                       "@mt": "Hi {user_id}", "@x": "Boom", "user_id": 4000,
                                       "@@odd": 1, "@i": "abc", "@r": ["x"]}),
         "host": "h", "level": 1, "_user_id": 9001},
        {"short_message": json.dumps({"level": "error", "message": "m", "timestamp": "2022-06-21T17:11:02Z"}),
         "timestamp": 1385053862.3072},
        {"short_message": "{\"@t\":\"garbage\"}", "level": 3},
        {"short_message": "{\"@m\":{\"a\":1}}"},
        {"short_message": "m", "timestamp": "1385053862.3072", "level": "2"},
        {"short_message": "m", "timestamp": -5, "level": -1},
        {"short_message": "m", "timestamp": 1e300, "level": 1e300},
        {"short_message": "m", "timestamp": "2024-01-01T00:00:00Z", "level": "WARN"},
        {"short_message": "m", "timestamp": None, "level": None, "full_message": None},
        {"short_message": "same", "full_message": "same"},
        {"short_message": "m", "full_message": {"frames": [1, 2]}},
        {"short_message": "m", "host": "a", "_host": "b", "__host": "c", "_id": 1, "_": 2,
         "file": "f", "_file": "g", "line": 1, "_line": 2, "facility": "x", "_facility": "y"},
        {"short_message": 5},
        {"host": "no short message"},
        {"short_message": None},
        {"short_message": ""},
    ]
    for case in cases:
        write("decode", json.dumps(case).encode())
    write("decode", b'{"short_message":"big","timestamp":253402207200.9999999,"_n":123456789012345678901234567890}')
    write("decode", b'{"short_message":"exp","timestamp":1.3850538623072E9,"level":6.0}')
    write("decode", b"\xef\xbb\xbf{\"short_message\":\"bom\"}\x00\x00")
    write("decode", b"[1,2,3]")
    write("decode", b"")
    write("decode", b"\x00")
    write("decode", b"\x1f\x8b not gzip")
    write("decode", b"\x78\x9c not zlib")
    write("decode", b'{"short_message":"\xff\xfe"}')
    write("decode", b"[" * 200 + b"]" * 200)
    write("decode", b'{"short_message":"deep","_d":' + b"[" * 100 + b"]" * 100 + b"}")
    write("decode", gz(b'{"short_message":"' + b"a" * 100_000 + b'"}'))
    write("decode", zlib.compress(b" " * 1_000_000, 9))
    write("decode", b'{"short_message":"a"}\x00{"short_message":"b"}\x00\n\x00' + b"x" * 1500 + b"\x00{\"short_message\":\"c\"}")
    write("decode", bytes(rng.randrange(256) for _ in range(300)))

    # --- reassemble ---------------------------------------------------------------------
    sets = {c: [w for w, is_chunk, _ in captures(f"{c}-udp-chunked")] for c in CLIENTS}
    for client, chunks in sets.items():
        n = len(chunks)
        orders = [list(range(n)), list(range(n))[::-1], [2, 0, 3, 1]]
        for selector, order in zip([0, 1, 8], orders):
            write("reassemble", framed(selector, [chunks[i] for i in order]))
        write("reassemble", framed(3, chunks))  # 3 s apart: expires before the last chunk
        write("reassemble", framed(4, chunks))  # small limits: refused as too large
        write("reassemble", framed(0, [chunks[0], chunks[0], chunks[1], chunks[2], chunks[1], chunks[3], chunks[3]]))
    pygelf = sets["pygelf"]
    graypy = sets["graypy"]
    write("reassemble", framed(0, [pygelf[0], graypy[0], pygelf[1], graypy[1], graypy[2], pygelf[2], graypy[3], pygelf[3]]))
    for client in CLIENTS:
        datagrams = [w for w, _, _ in captures(f"{client}-udp")]
        write("reassemble", framed(0, datagrams))
        write("reassemble", framed(4, datagrams))
    small = [json.dumps(c).encode() for c in cases[:8]]
    for i, message in enumerate(small):
        count = 2 + i % 4
        pieces = split(1000 + i, zlib.compress(message) if i % 2 else message, count)
        rng.shuffle(pieces)
        write("reassemble", framed(i % 16, pieces))
    # A set of one chunk, and chunks with empty payloads.
    write("reassemble", framed(0, [chunk(5, 0, 1, small[0])]))
    write("reassemble", framed(0, [chunk(6, 0, 3, b""), chunk(6, 2, 3, b""), chunk(6, 1, 3, small[1])]))
    # Bad headers: short, count 0, count 129, seq >= count, count mismatch, 128 chunks.
    write("reassemble", framed(0, [b"\x1e\x0f", b"\x1e\x0f\x01\x02\x03", chunk(1, 0, 0, b"x"),
                                   chunk(1, 0, 129, b"x"), chunk(1, 5, 5, b"x"), chunk(1, 0, 3, b"a"),
                                   chunk(1, 1, 4, b"b"), chunk(1, 1, 3, b"c")]))
    write("reassemble", framed(0, [chunk(77, i, 128, b"{}"[:1] if i == 0 else b" ") for i in range(127)] + [chunk(77, 127, 128, b"}")]))
    write("reassemble", framed(4, [chunk(78, i, 9, b"x") for i in range(9)]))
    # Floods of partial sets: many ids (count limit), big payloads (byte limit).
    write("reassemble", framed(4, [chunk(i, 0, 2, b"y" * 20) for i in range(300)]))
    write("reassemble", framed(4, [chunk(i, 0, 2, b"z" * 700) for i in range(12)] + split(999, small[2], 2)))
    write("reassemble", framed(8, [chunk(i, i % 3, 3, b"w" * 100) for i in range(200)]))
    write("reassemble", framed(2, [chunk(i % 7, i % 5, 5, b"v" * 50) for i in range(100)]))
    # Garbage.
    for selector in range(4):
        write("reassemble", bytes([selector]) + bytes(rng.randrange(256) for _ in range(400)))
    write("reassemble", framed(0, [b"\x1e\x0f" + bytes(rng.randrange(256) for _ in range(30)) for _ in range(20)]))
    write("reassemble", b"\x00")
    write("reassemble", b"")

    for target in ["decode", "reassemble"]:
        d = os.path.join(HERE, "corpus", target)
        files = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in files)
        print(f"{target}: {len(files)} files, {size} bytes")


if __name__ == "__main__":
    main()
