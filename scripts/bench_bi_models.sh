#!/usr/bin/env bash
# BI models on a warehouse with pending deletes (merge-on-read) against the same warehouse
# fully compacted. Builds a warehouse of N conversations with `ltx import`, imports newer
# versions of every K-th one (so files keep deleted rows below the fold share), copies it,
# runs `ltx compact` on the copy, then times every view of sql/ and the table views on both
# through DuckDB's Python client (the storage a BI tool opens), best of 3 runs each.
#
# Usage: scripts/bench_bi_models.sh INPUT.jsonl [N=100000] [K=20]
#   LTX_BIN=path/to/ltx (default target/release/ltx), PYTHON=python with `duckdb` installed.
set -euo pipefail
input=$(realpath "$1"); n=${2:-100000}; k=${3:-20}
ltx=${LTX_BIN:-${CARGO_TARGET_DIR:-target}/release/ltx}
py=${PYTHON:-python3}
dir=$(mktemp -d); cd "$dir"; trap 'rm -rf "$dir"' EXIT
head -n "$n" "$input" > "$dir/base.jsonl"
"$py" - "$dir/base.jsonl" "$k" > "$dir/updates.jsonl" <<'PY'
import datetime, json, sys
path, k = sys.argv[1], int(sys.argv[2])
for i, line in enumerate(open(path, encoding="utf-8")):
    if i % k:
        continue
    v = json.loads(line)
    t = datetime.datetime.fromisoformat(v["updated_at"].replace("Z", "+00:00"))
    v["updated_at"] = (t + datetime.timedelta(hours=1)).isoformat()
    print(json.dumps(v, ensure_ascii=False))
PY
"$ltx" import --warehouse "$dir/pending" "$dir/base.jsonl" >/dev/null
"$ltx" import --warehouse "$dir/pending" "$dir/updates.jsonl" >/dev/null
cp -a "$dir/pending" "$dir/compacted"
"$ltx" compact --warehouse "$dir/compacted" >/dev/null
"$py" - "$dir/pending" "$dir/compacted" <<'PY'
import json, sys, time
import duckdb
def views(path):
    con = duckdb.connect(path + "/warehouse.duckdb", read_only=True)
    names = [r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND view_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1").fetchall()]
    return con, names
def best(con, sql):
    out = []
    for _ in range(3):
        t = time.perf_counter(); r = con.execute(sql).fetchall(); out.append(time.perf_counter() - t)
    return min(out), r
pending, names = views(sys.argv[1])
compacted, _ = views(sys.argv[2])
m = json.load(open(sys.argv[1] + "/_ltx/manifest.json"))
marked = sum(f.get("deleted", {}).get("rows", 0) for t in m["tables"].values() for f in t["files"])
print(f"pending deleted rows: {marked}")
tp = tc = 0.0
print(f"{'view':40} {'pending s':>10} {'compacted s':>12} {'ratio':>6}")
for v in names:
    sql = f'SELECT count(*), sum(hash(t)) FROM "{v}" t'
    a, ra = best(pending, sql); b, rb = best(compacted, sql)
    assert ra == rb, f"{v}: {ra} != {rb}"
    tp += a; tc += b
    print(f"{v:40} {a:10.3f} {b:12.3f} {a / b if b else 0:6.2f}")
print(f"{'total':40} {tp:10.3f} {tc:12.3f} {tp / tc:6.2f}")
PY
