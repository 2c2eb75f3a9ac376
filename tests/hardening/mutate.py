"""Hostile variants of valid input files, driven by a ``random.Random`` (seeded in
``benchmarks/fuzz.py``, drawn by Hypothesis in the tests).

``byte_mutation`` works on raw bytes (flips, stray quotes, NUL and invalid UTF-8,
truncation, splices); ``structure_mutation`` parses the format and swaps values for
wrong types, non-finite and huge numbers, deep nesting, misspelled types, hostile
text, missing and repeated parts, which reaches much deeper into the readers.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import struct
import zlib

TOKENS = [b'"', b"'", b"\x00", b"\xff", b"\xfe\xff", b"\xed\xa0\x80", b"\r", b"\n", b"\t", b",", b";",
          b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e39", b"9" * 400, b"null", b"[", b"{", b"}",
          b"]", b"${alert(1)}", b"</script>", "관리번호".encode(), "위도".encode("cp949"), b"\\u0000"]

NASTY_TEXT = ["", " ", '"', '"abc', 'a"b', "a\nb", "\x00", "${(window.top.document.title='X')}",
              "<img src=x onerror=alert(1)>", "x" * 5000, "카메라", "NaN", "inf", "-inf", "1e39",
              "1e400", "-0", "0x10", "9" * 5000, "1_000", "３５.１", "35,1", " 35.1 ", "\u202e", "../../x"]
NASTY_NUMBERS: list = [0, -1, 1, 65535, 65536, 2**31, 2**63, -(2**63), 1e39, -1e39, 1e308, 1e-320,
                       float("inf"), float("-inf"), float("nan"), 0.5, 181.0, -91.0, 360.1]
HUGE_INT = "__HUGE_INT__"
DEEP = "__DEEP__"


def byte_mutation(seed: bytes, rnd: random.Random, others: list[bytes] | None = None) -> bytes:
    b = bytearray(seed)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randrange(8)
        pos = rnd.randint(0, len(b))
        if op == 0 and b:  # flip bits
            i = rnd.randrange(len(b))
            b[i] ^= 1 << rnd.randrange(8)
        elif op == 1:  # insert a token
            b[pos:pos] = rnd.choice(TOKENS)
        elif op == 2 and b:  # delete a range
            b[pos:pos + rnd.randint(1, 64)] = b""
        elif op == 3:  # truncate
            del b[pos:]
        elif op == 4 and b:  # duplicate a range many times
            chunk = bytes(b[pos:pos + rnd.randint(1, 200)])
            b[pos:pos] = chunk * rnd.randint(2, 50)
        elif op == 5 and others:  # splice another file in
            o = rnd.choice(others)
            j = rnd.randint(0, len(o))
            b[pos:pos] = o[j:j + rnd.randint(1, 500)]
        elif op == 6 and b:  # random byte
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        else:  # random bytes
            b[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 32)))
    return bytes(b)


# ---------------------------------------------------------------- JSON formats

def _nasty_value(rnd: random.Random, depth: int = 0):
    r = rnd.randrange(10)
    if r == 0:
        return rnd.choice(NASTY_NUMBERS)
    if r == 1:
        return rnd.choice(NASTY_TEXT)
    if r == 2:
        return None
    if r == 3:
        return rnd.choice([True, False])
    if r == 4:
        return HUGE_INT
    if r == 5 and depth < 3:
        return [_nasty_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    if r == 6 and depth < 3:
        return {rnd.choice(["type", "coordinates", "geometry", "properties", "x"]): _nasty_value(rnd, depth + 1)}
    if r == 7:  # nesting deeper than json.dumps could write: spliced in as text
        return f"{DEEP}{rnd.choice([10, 500, 5000, 100000])}"
    if r == 8:
        return rnd.choice(["Point", "Polygon", "Poligon", "MultiPolygon", "Feature", "FeatureCollection",
                           "GeometryCollection", "LineString", "SimpleItem", "ComplexItem"])
    return rnd.uniform(-1e6, 1e6)


def _paths(obj, prefix=()):
    yield prefix
    if len(prefix) > 8:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:50]):
            yield from _paths(v, (*prefix, i))


def _set(obj, path, value):
    if not path:
        return value
    parent = obj
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return obj


def _json_mutation(doc, rnd: random.Random):
    for _ in range(rnd.randint(1, 4)):
        paths = list(_paths(doc))
        path = rnd.choice(paths)
        op = rnd.randrange(6)
        try:
            if op == 0 and path:  # delete
                parent = doc
                for p in path[:-1]:
                    parent = parent[p]
                del parent[path[-1]]
            elif op == 1:  # repeat a list element many times
                parent = doc
                for p in path:
                    parent = parent[p]
                if isinstance(parent, list) and parent:
                    parent.extend([parent[0]] * rnd.choice([2, 100, 3000]))
                else:
                    doc = _set(doc, path, _nasty_value(rnd))
            elif op == 2 and path:  # swap list <-> dict, or scalar for container
                doc = _set(doc, path, rnd.choice([{}, [], "", 0, {"a": 1}, [1, 2]]))
            else:
                doc = _set(doc, path, _nasty_value(rnd))
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def _dump_json(doc) -> bytes:
    text = json.dumps(doc, allow_nan=True, ensure_ascii=False, check_circular=False)
    text = text.replace(f'"{HUGE_INT}"', "9" * 5000)
    text = re.sub(f'"{DEEP}(\\d+)"', lambda m: "[" * int(m[1]) + "]" * int(m[1]), text)
    return text.encode("utf-8")


# ---------------------------------------------------------------- text formats

def _csv_mutation(text: str, rnd: random.Random) -> str:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for _ in range(rnd.randint(1, 5)):
        if not rows:
            rows = [["x"]]
        r = rnd.randrange(len(rows))
        op = rnd.randrange(6)
        if op == 0 and rows[r]:
            rows[r][rnd.randrange(len(rows[r]))] = rnd.choice(NASTY_TEXT + [str(v) for v in NASTY_NUMBERS])
        elif op == 1:
            rows[r].append(rnd.choice(NASTY_TEXT))
        elif op == 2 and rows[r]:
            rows[r].pop(rnd.randrange(len(rows[r])))
        elif op == 3:
            rows.extend([rows[r]] * rnd.choice([2, 50, 2000]))
        elif op == 4:
            del rows[r]
        else:
            rnd.shuffle(rows)
    out = io.StringIO()
    w = csv.writer(out, lineterminator=rnd.choice(["\n", "\r\n"]))
    w.writerows(rows)
    text = out.getvalue()
    if rnd.random() < 0.3:  # a stray quote the writer would have escaped
        i = rnd.randint(0, len(text))
        text = text[:i] + '"' + text[i:]
    return text


_WP_VALUES = ["nan", "inf", "-inf", "1e39", "-1e39", "1e400", "-1", "65536", "4294967296",
              "9" * 400, "0x10", "", "1.5", "abc", "16", "22", "3", "0", "91", "181", "1e-400"]


def _waypoints_mutation(text: str, rnd: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rnd.randint(1, 5)):
        i = rnd.randrange(1, len(lines)) if len(lines) > 1 else 0
        f = lines[i].split("\t")
        op = rnd.randrange(5)
        if op == 0:
            f[rnd.randrange(len(f))] = rnd.choice(_WP_VALUES)
        elif op == 1:
            f.append(rnd.choice(_WP_VALUES)) if rnd.random() < 0.5 else f.pop()
        elif op == 2:
            lines.extend([lines[i]] * rnd.choice([1, 100]))
        elif op == 3:
            lines[0] = rnd.choice(["QGC WPL 110", "QGC WPL 120", "QGC WPL", "", "WPL 110"])
        else:
            rnd.shuffle(lines)
        if op in (0, 1):
            lines[i] = "\t".join(f)
    return "\n".join(lines) + "\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _image_mutation(seed: bytes, rnd: random.Random) -> bytes:
    import cv2
    import numpy as np

    op = rnd.randrange(5)
    if op == 0:  # a PNG header that claims a huge image (decompression bomb)
        w, h = rnd.choice([(30000, 30000), (100000, 1), (1, 100000), (65535, 65535), (20000, 20000)])
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        idat = zlib.compress(b"\x00" * min(w * 3 + 1, 10**6) * 4)
        return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    if op == 1:  # valid but odd images: tiny, 16-bit, 4-channel, grey
        shape = rnd.choice([(1, 1), (1, 1, 3), (3, 2000), (8, 8, 4), (64, 48), (5, 5, 2)])
        dtype = rnd.choice([np.uint8, np.uint16])
        img = (np.random.default_rng(rnd.randrange(2**32)).random(shape) * 255).astype(dtype)
        ext = rnd.choice([".png", ".tiff", ".jpg", ".bmp"])
        try:
            ok, buf = cv2.imencode(ext, img if dtype == np.uint8 or ext in (".png", ".tiff")
                                   else img.astype(np.uint8))
        except cv2.error:  # a shape the encoder refuses: give the raw pixels instead
            return img.tobytes()
        return buf.tobytes() if ok else seed
    if op == 2:  # truncated
        return seed[:rnd.randint(0, len(seed))]
    if op == 3:  # corrupted body, header kept
        b = bytearray(seed)
        for _ in range(rnd.randint(1, 50)):
            b[rnd.randrange(20, len(b))] = rnd.randrange(256)
        return bytes(b)
    return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 2000)))


def _tlog_mutation(seed: bytes, rnd: random.Random) -> bytes:
    """Telemetry-log damage seen in the field: a cut-off tail, a record with a wrong length
    byte, stretches of zeros (a card's erased block), records repeated or reordered."""
    data = bytearray(seed)
    op = rnd.randrange(5)
    if op == 0:
        return bytes(data[: rnd.randrange(len(data))])
    if op == 1:  # MAVLink 2 length byte sits one after the 0xFD magic
        starts = [i for i, b in enumerate(data) if b == 0xFD and i + 1 < len(data)]
        for i in rnd.sample(starts, min(len(starts), rnd.randrange(1, 4))):
            data[i + 1] = rnd.randrange(256)
        return bytes(data)
    if op == 2:
        at = rnd.randrange(len(data))
        data[at:at + rnd.randrange(1, 600)] = bytes(rnd.randrange(1, 600))
        return bytes(data)
    if op == 3:  # timestamps going backwards or to 2**64-1
        for _ in range(rnd.randrange(1, 5)):
            at = rnd.randrange(len(data) - 8)
            data[at:at + 8] = rnd.choice([b"\xff" * 8, b"\x00" * 8, struct.pack(">Q", rnd.randrange(2**64))])
        return bytes(data)
    a, b = sorted(rnd.sample(range(len(data)), 2))
    return bytes(data[b:] + data[a:b] + data[:a] + data[a:b])


def structure_mutation(kind: str, seed: bytes, rnd: random.Random) -> bytes:
    if kind in ("registry_geojson", "aoi", "airspace", "plan"):
        return _dump_json(_json_mutation(json.loads(seed), rnd))
    if kind == "registry_csv":
        return _csv_mutation(seed.decode("utf-8"), rnd).encode(rnd.choice(["utf-8", "utf-8", "cp949"]),
                                                                  errors="replace")
    if kind == "waypoints":
        return _waypoints_mutation(seed.decode("utf-8"), rnd).encode("utf-8")
    if kind == "detect_image":
        return _image_mutation(seed, rnd)
    if kind == "tlog":
        return _tlog_mutation(seed, rnd)
    raise ValueError(kind)
