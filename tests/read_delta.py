"""Reads every table of an ltx warehouse as a Delta Lake table and compares it, row for
row, with what DuckDB's views return (tests/delta_readers.rs writes those rows).

Readers: deltalake (delta-rs) through its query engine (`QueryBuilder`: its
`to_pyarrow_table()` refuses tables with deletion vectors, "reader features
{'deletionVectors'} ... not yet supported", which ltx writes for rows a run superseded
until a compaction folds them), polars
`read_delta(root)`, and ClickHouse's Delta reader through chdb. chdb's `deltaLake()` takes
only S3 URLs ("Host is empty in S3 URI" for a local path or file://); the local-file
variant `deltaLakeLocal(path)` reads the same log offline, and is the one used here, with
a path under the working directory (chdb's user_files_path: an absolute path elsewhere
fails with PATH_ACCESS_DENIED "File path ... is not inside .").

Rows are compared as sorted JSON arrays of every column, normalized: instants as µs since
the epoch (UTC; the wall clock of a `timestamp_ntz`), dates as days since 1970-01-01.

Usage: read_delta.py EXPECTED.json   (exit 1 with a report when a reader disagrees)
"""

import glob
import json
import os
import sys

import chdb
import deltalake
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def canonical(rows):
    return sorted(json.dumps(r, ensure_ascii=False) for r in rows)


def normalize_arrow(table, columns):
    """Rows of a pyarrow table, columns in `columns` order, normalized."""
    out = []
    for name, tag in columns:
        col = table.column(name)
        if tag in ("ts", "ts_ntz"):
            tz = col.type.tz if pa.types.is_timestamp(col.type) else None
            col = pc.cast(pc.cast(col, pa.timestamp("us", tz)), pa.int64())
        elif tag == "date":
            col = pc.cast(col, pa.int32())
        elif tag == "utf8" and pa.types.is_binary(col.type):
            col = pc.cast(col, pa.string())
        elif tag == "bool" and not pa.types.is_boolean(col.type):
            col = pc.cast(col, pa.bool_())
        out.append(col.to_pylist())
    return [list(r) for r in zip(*out)] if out else []


def normalize_polars(df, columns):
    exprs = []
    for name, tag in columns:
        c = pl.col(name)
        if tag in ("ts", "ts_ntz"):
            c = c.dt.epoch("us")
        elif tag == "date":
            c = c.cast(pl.Int32)
        exprs.append(c)
    return [list(r) for r in df.select(exprs).rows()]


def read_deltalake(root):
    qb = deltalake.QueryBuilder().register("t", deltalake.DeltaTable(root))
    # An arro3 reader (Arrow C stream): pyarrow takes it as it is.
    return pa.table(qb.execute("SELECT * FROM t").read_all())


def read_chdb(root, columns):
    # ClickHouse reads local files only under its user_files_path, which chdb sets to the
    # working directory ("File path ... is not inside ." otherwise), and its Delta kernel
    # wants an absolute path: main() works in the warehouse directory.
    exprs = []
    for name, tag in columns:
        c = f"`{name}`"
        if tag in ("ts", "ts_ntz"):
            exprs.append(f"toUnixTimestamp64Micro({c}) AS {c}")
        elif tag == "date":
            exprs.append(f"toInt32({c}) AS {c}")
        else:
            exprs.append(c)
    sql = f"SELECT {', '.join(exprs)} FROM deltaLakeLocal('{root}')"
    table = chdb.query(sql, "ArrowTable")
    return normalize_arrow(table, [(n, "int64" if t in ("ts", "ts_ntz", "date") else t) for n, t in columns])


def first_difference(got, want):
    g, w = canonical(got), canonical(want)
    only_got = sorted(set(g) - set(w))[:2]
    only_want = sorted(set(w) - set(g))[:2]
    return f"{len(got)} rows, want {len(want)}; only in reader: {only_got}; only in DuckDB: {only_want}"


def main():
    exp = json.load(open(sys.argv[1]))
    wh = exp["warehouse"]
    os.chdir(wh)
    failures = []
    for name, t in sorted(exp["tables"].items()):
        root = os.path.join(wh, "data", name)
        columns = [tuple(c) for c in t["columns"]]
        with open(t["rows_file"]) as f:
            want = [[json.loads(line)[n] for n, _ in columns] for line in f if line.strip()]
        assert len(want) == t["rows"], (name, len(want), t["rows"])
        want_c = canonical(want)
        readers = {
            "deltalake": lambda: normalize_arrow(read_deltalake(root), columns),
            "polars": lambda: normalize_polars(pl.read_delta(root), columns),
            "chdb": lambda: read_chdb(root, columns),
        }
        results = []
        for reader, read in readers.items():
            try:
                got = read()
            except Exception as e:  # report every reader's failure, not only the first
                failures.append(f"{name}: {reader} failed: {type(e).__name__}: {str(e)[:400]}")
                results.append(f"{reader} FAILED")
                continue
            if canonical(got) != want_c:
                failures.append(f"{name}: {reader}: {first_difference(got, want)}")
                results.append(f"{reader} DIFFERS")
            else:
                results.append(f"{reader} ok")
        version = deltalake.DeltaTable(root).version()
        # A glob over the table's directory (the log's checkpoints left out) also reads the
        # superseded files still kept for the grace period.
        files = [p for p in glob.glob(os.path.join(root, "**", "*.parquet"), recursive=True)
                 if f"{os.sep}_delta_log{os.sep}" not in p]
        glob_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in files)
        print(f"{name}: v{version}, {t['rows']} rows, {len(files)} files on disk ({glob_rows} rows by glob): {', '.join(results)}")
        t["glob_rows"] = glob_rows
    if exp.get("glob_reads_more") and exp.get("retired_files", 0) > 0:
        more = [n for n, t in exp["tables"].items() if t["glob_rows"] > t["rows"]]
        if not more:
            failures.append("superseded files are retained but no glob reads more rows than the view")
        else:
            print(f"a glob reads more rows than the view (superseded files) in: {', '.join(sorted(more))}")
        fewer = [n for n, t in exp["tables"].items() if t["glob_rows"] < t["rows"]]
        if fewer:
            failures.append(f"a glob reads fewer rows than the view in {fewer}")
    print(f"deltalake {deltalake.__version__}, polars {pl.__version__}, pyarrow {pa.__version__}, chdb {chdb.__version__}")
    if failures:
        print("FAILURES:\n" + "\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
