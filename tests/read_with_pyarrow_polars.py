"""Reads a warehouse's live Parquet files with pyarrow and polars and compares them with
what DuckDB's views show (the expectations file written by tests/parquet_readers.rs).

Usage: python3 read_with_pyarrow_polars.py EXPECTED.json

The files read are those `_ltx/manifest.json` lists, as the README tells users (superseded
files stay on disk for a grace period), without the rows an entry's `deleted` marks (rows of
conversation versions a newer one replaced, until a compaction folds them: a Delta deletion
vector, Z85-encoded RoaringBitmapArray, decoded by `deleted_positions`). Every table is read four ways:
pyarrow.parquet.read_table per file (concatenated), pyarrow.dataset over the file list,
polars.read_parquet and polars.scan_parquet. Each must give the schema's column names and
types (timestamps timestamp[us, tz=UTC] / Datetime("us", "UTC"), strings UTF-8), DuckDB's
row count, key set and per-column aggregates; each file's own Parquet types must say the
same (isAdjustedToUTC, String) for readers that ignore the Arrow schema stored in it. For
the dimensions and _rejected, whose files hold every snapshot, "latest per key" done in
polars must also give the view's rows and aggregates.
Exits 1 with every mismatch listed.
"""

import json
import os
import struct
import sys

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

PA_TYPES = {
    "int64": [pa.int64()],
    "utf8": [pa.string(), pa.large_string()],
    "bool": [pa.bool_()],
    "ts_utc": [pa.timestamp("us", tz="UTC")],
    "ts_naive": [pa.timestamp("us")],
    "date": [pa.date32()],
}
# The Parquet types themselves (physical, logical), which readers that ignore the Arrow
# schema stored in the file's metadata (Spark, Trino, older pyarrow) go by.
PARQUET_TYPES = {
    "int64": ("INT64", {"Type": "None"}),
    "utf8": ("BYTE_ARRAY", {"Type": "String"}),
    "bool": ("BOOLEAN", {"Type": "None"}),
    "ts_utc": (
        "INT64",
        {"Type": "Timestamp", "isAdjustedToUTC": True, "timeUnit": "microseconds"},
    ),
    "ts_naive": (
        "INT64",
        {"Type": "Timestamp", "isAdjustedToUTC": False, "timeUnit": "microseconds"},
    ),
    "date": ("INT32", {"Type": "Date"}),
}
PL_TYPES = {
    "int64": pl.Int64,
    "utf8": pl.String,
    "bool": pl.Boolean,
    "ts_utc": pl.Datetime("us", "UTC"),
    "ts_naive": pl.Datetime("us", None),
    "date": pl.Date,
}


def text(v):
    """An aggregate as DuckDB renders it with CAST(... AS VARCHAR)."""
    return None if v is None else str(v)


def total(values):
    """SQL sum: None without values; Python ints, as DuckDB's HUGEINT, do not overflow."""
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def pa_fingerprint(col, tag):
    """tests/parquet_readers.rs `fingerprints`, computed with pyarrow.compute."""
    n = len(col) - col.null_count
    if tag == "int64":
        return [n, total(col.to_pylist())]
    if tag in ("ts_utc", "ts_naive"):
        us = pc.cast(col, pa.int64())
        mm = pc.min_max(us).as_py()
        return [n, total(us.to_pylist()), mm["min"], mm["max"]]
    if tag == "date":
        days = pc.cast(pc.cast(col, pa.int32()), pa.int64())
        mm = pc.min_max(days).as_py()
        return [n, total(days.to_pylist()), mm["min"], mm["max"]]
    if tag == "bool":
        return [n, pc.sum(pc.cast(col, pa.int64())).as_py() or 0]
    mm = pc.min_max(col).as_py()
    chars = pc.sum(pc.utf8_length(col)).as_py() if n else None
    nbytes = pc.sum(pc.binary_length(col)).as_py() if n else None
    return [n, chars, nbytes, mm["min"], mm["max"]]


def pl_fingerprint(df, name, tag):
    """tests/parquet_readers.rs `fingerprints`, computed from the columns polars read."""
    c = pl.col(name)
    n = df.select(c.count()).item()
    if tag == "int64":
        return [n, total(df.get_column(name).to_list())]
    if tag in ("ts_utc", "ts_naive"):
        us = df.select(c.dt.epoch("us")).to_series()
        return [n, total(us.to_list()), us.min(), us.max()]
    if tag == "date":
        days = df.select(c.cast(pl.Int32).cast(pl.Int64)).to_series()
        return [n, total(days.to_list()), days.min(), days.max()]
    if tag == "bool":
        return [n, df.select(c.sum()).item()]
    # In Python: polars 1.0's scalar min/max of a String column drops a leading "+"
    # ("+7916..." comes back as "7916..."), though the column holds it.
    v = [x for x in df.get_column(name).to_list() if x is not None]
    if not v:
        return [0, None, None, None, None]
    return [n, sum(map(len, v)), sum(len(x.encode("utf-8")) for x in v), min(v), max(v)]


def render_keys(rows):
    return sorted("/".join(str(v) for v in row) for row in rows)


class Check:
    def __init__(self):
        self.errors = []

    def eq(self, what, got, want):
        if got != want:
            g, w = repr(got), repr(want)
            if len(g) > 300 or len(w) > 300:
                g, w = g[:300] + "...", w[:300] + "..."
            self.errors.append(f"{what}: got {g}, DuckDB/schema says {w}")


def check_arrow(ck, where, table, t):
    names = [c[0] for c in t["columns"]]
    ck.eq(f"{where}: columns", table.schema.names, names)
    for name, tag, nullable in t["columns"]:
        if name not in table.schema.names:
            continue
        field = table.schema.field(name)
        if field.type not in PA_TYPES[tag]:
            ck.eq(f"{where}.{name}: type", str(field.type), str(PA_TYPES[tag][0]))
        ck.eq(f"{where}.{name}: nullable", field.nullable, nullable)
        ck.eq(
            f"{where}.{name}: aggregates",
            [text(v) for v in pa_fingerprint(table.column(name), tag)],
            t["fingerprints"][name],
        )
    ck.eq(f"{where}: rows", table.num_rows, t["rows"])
    if "keys" in t:
        cols = [table.column(k).to_pylist() for k in t["key_columns"]]
        ck.eq(f"{where}: keys", render_keys(zip(*cols)), t["keys"])


def check_parquet_schema(ck, path, t):
    schema = pq.read_metadata(path).schema
    cols = [schema.column(i) for i in range(len(schema))]
    ck.eq(f"{path}: Parquet columns", [c.name for c in cols], [c[0] for c in t["columns"]])
    tags = {name: tag for name, tag, _ in t["columns"]}
    for col in cols:
        tag = tags.get(col.name)
        if tag is None:
            continue
        physical, logical = PARQUET_TYPES[tag]
        got = json.loads(col.logical_type.to_json())
        ck.eq(
            f"{path}.{col.name}: Parquet type",
            (col.physical_type, {k: got.get(k) for k in logical}),
            (physical, logical),
        )


def check_polars(ck, where, df, t, fingerprints, rows):
    names = [c[0] for c in t["columns"]]
    ck.eq(f"{where}: columns", df.columns, names)
    for name, tag, _ in t["columns"]:
        if name not in df.columns:
            continue
        ck.eq(f"{where}.{name}: dtype", df.schema[name], PL_TYPES[tag])
        ck.eq(
            f"{where}.{name}: aggregates",
            [text(v) for v in pl_fingerprint(df, name, tag)],
            fingerprints[name],
        )
    ck.eq(f"{where}: rows", df.height, rows)


Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def deleted_positions(entry):
    """Row positions a manifest entry's `deleted` marks (sorted; empty when none)."""
    d = entry.get("deleted")
    if not d:
        return []
    text, raw = d["dv"], bytearray()
    for i in range(0, len(text), 5):
        n = 0
        for c in text[i:i + 5]:
            n = n * 85 + Z85.index(c)
        raw += struct.pack(">I", n)
    b = bytes(raw[: d["dv_bytes"]])
    magic, count = struct.unpack_from("<iq", b, 0)
    assert magic == 1681511377, "not a RoaringBitmapArray"
    at, out = 12, []
    for _ in range(count):
        (high,) = struct.unpack_from("<I", b, at)
        cookie, n = struct.unpack_from("<II", b, at + 4)
        assert cookie == 12346, "unexpected Roaring cookie"
        head = [struct.unpack_from("<HH", b, at + 12 + 4 * k) for k in range(n)]
        pos = at + 12 + 8 * n
        for key, card in head:
            card += 1
            if card > 4096:
                words = struct.unpack_from("<1024Q", b, pos)
                pos += 8192
                lows = [w * 64 + j for w, word in enumerate(words) for j in range(64) if word >> j & 1]
            else:
                lows = list(struct.unpack_from(f"<{card}H", b, pos))
                pos += 2 * card
            out += [(high << 32) | (key << 16) | lo for lo in lows]
        at = pos
    return out


def without_deleted_arrow(table, positions):
    if not positions:
        return table
    mask = [True] * table.num_rows
    for p in positions:
        mask[p] = False
    return table.filter(pa.array(mask))


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        exp = json.load(f)
    wh = exp["warehouse"]
    with open(os.path.join(wh, "_ltx", "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    ck = Check()
    for name, t in exp["tables"].items():
        entries = manifest["tables"][name]["files"]
        files = [os.path.join(wh, e["path"]) for e in entries]
        deleted = [deleted_positions(e) for e in entries]
        # pyarrow: each file on its own (every file must carry the schema), then as a dataset.
        for p in files:
            check_parquet_schema(ck, p, t)
        parts = [without_deleted_arrow(pq.read_table(p), d) for p, d in zip(files, deleted)]
        check_arrow(ck, f"{name} (pyarrow.parquet)", pa.concat_tables(parts), t)
        dataset = pa.concat_tables(
            [without_deleted_arrow(ds.dataset(p, format="parquet").to_table(), d) for p, d in zip(files, deleted)]
        )
        check_arrow(ck, f"{name} (pyarrow.dataset)", dataset, t)
        # polars: eager and lazy, each file's marked rows dropped by row index.
        eager = pl.concat(
            [pl.read_parquet(p, row_index_name="_row").filter(~pl.col("_row").is_in(d)).drop("_row") for p, d in zip(files, deleted)]
        )
        lazy = pl.concat(
            [pl.scan_parquet(p, row_index_name="_row").filter(~pl.col("_row").is_in(d)).drop("_row") for p, d in zip(files, deleted)]
        ).collect()
        for how, df in (("read_parquet", eager), ("scan_parquet", lazy)):
            where = f"{name} (polars.{how})"
            check_polars(ck, where, df, t, t["fingerprints"], t["rows"])
            if "keys" in t:
                keys = df.select(t["key_columns"]).rows()
                ck.eq(f"{where}: keys", render_keys(keys), t["keys"])
        if "dedup" in t:
            # What the view does: the latest snapshot per key.
            d = t["dedup"]
            latest = eager.sort(d["order_desc"], descending=True).unique(
                subset=d["keys"], keep="first", maintain_order=True
            )
            where = f"{name} (polars, latest per key)"
            check_polars(ck, where, latest, t, d["fingerprints"], d["rows"])
        extra = f" ({t['dedup']['rows']} latest per key)" if "dedup" in t else ""
        print(f"{name}: {len(files)} files, {t['rows']} rows{extra}")
    if ck.errors:
        print(f"{len(ck.errors)} mismatches:", file=sys.stderr)
        for e in ck.errors:
            print("  " + e, file=sys.stderr)
        sys.exit(1)
    print(f"pyarrow {pa.__version__}, polars {pl.__version__}: every table matches DuckDB")


if __name__ == "__main__":
    main()
