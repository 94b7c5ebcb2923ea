"""The warehouse catalog as BI tools see it: another client's DuckDB opens it read-only.

Run by tests/bi_clients.rs, once per client, with the JSON file of what ltx's own DuckDB
returns (the catalog path, every view with its row count, every example of sql/README.md
with its row count):

    python bi_clients.py duckdb EXPECTED.json       # the duckdb Python package, any version
    python bi_clients.py sqlalchemy EXPECTED.json   # SQLAlchemy + duckdb-engine (Superset)

Each client opens the catalog READ-ONLY, lists the views and reflects each one's columns,
counts the rows of every view (table views and BI models), runs every example of
sql/README.md, and compares the counts with the expected ones. The session time zone is
set far from UTC first, as a BI server's may be: the models' UTC days and hours must not
follow it. Prints a short summary; exits 1 with the differences when a check fails.
"""

import json
import sys

# A session time zone far from UTC (and from Moscow): a model that took its dates from a
# CAST(TIMESTAMPTZ AS TIMESTAMP) would follow it wherever ICU is loaded.
SESSION_TIME_ZONE = "America/Los_Angeles"


def first_line(error):
    """The first line of a client error (SQLAlchemy appends the whole statement)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else repr(error)


def quoted(name):
    return '"' + name.replace('"', '""') + '"'


class DuckdbClient:
    """The duckdb Python package (what notebooks and most BI connectors embed)."""

    def __init__(self, path):
        import duckdb

        self.version = "duckdb " + duckdb.__version__
        self.con = duckdb.connect(path, read_only=True)
        self.con.execute(f"SET TimeZone = '{SESSION_TIME_ZONE}'")

    def view_names(self):
        rows = self.con.execute(
            "SELECT view_name FROM duckdb_views() "
            "WHERE NOT internal AND database_name = current_database()"
        ).fetchall()
        return [r[0] for r in rows]

    def columns(self, view):
        return [r[0] for r in self.con.execute(f"DESCRIBE {quoted(view)}").fetchall()]

    def rows(self, sql):
        return self.con.execute(sql).fetchall()


class SqlalchemyClient:
    """SQLAlchemy with duckdb-engine: Superset's (and many other tools') way in."""

    def __init__(self, path):
        import duckdb
        import duckdb_engine
        import sqlalchemy

        self.version = (
            f"sqlalchemy {sqlalchemy.__version__}, duckdb-engine "
            f"{duckdb_engine.__version__}, duckdb {duckdb.__version__}"
        )
        # The URI a Superset user types: the read-only flag as a query parameter.
        self.engine = sqlalchemy.create_engine(f"duckdb:///{path}?access_mode=read_only")
        self.inspector = sqlalchemy.inspect(self.engine)
        self.conn = self.engine.connect()
        self.conn.exec_driver_sql(f"SET TimeZone = '{SESSION_TIME_ZONE}'")

    def view_names(self):
        return list(self.inspector.get_view_names())

    def columns(self, view):
        return [c["name"] for c in self.inspector.get_columns(view)]

    def rows(self, sql):
        # exec_driver_sql: the statement as written (text() would read ':name' as a bind).
        return self.conn.exec_driver_sql(sql).fetchall()


def main():
    kind, expected_file = sys.argv[1], sys.argv[2]
    with open(expected_file, encoding="utf-8") as f:
        expected = json.load(f)
    client = {"duckdb": DuckdbClient, "sqlalchemy": SqlalchemyClient}[kind](
        expected["catalog"]
    )
    failures = []

    views = sorted(client.view_names())
    want_views = sorted(expected["views"])
    if views != want_views:
        failures.append(f"views: got {views}, expected {want_views}")

    columns = 0
    for view in want_views:
        try:
            cols = client.columns(view)
        except Exception as e:  # noqa: BLE001 - any client error is a finding
            failures.append(f"reflecting {view}: {first_line(e)}")
            continue
        if not cols:
            failures.append(f"reflecting {view}: no columns")
        columns += len(cols)

    statements = 0
    for view, want in expected["views"].items():
        statements += 1
        try:
            got = client.rows(f"SELECT count(*) FROM {quoted(view)}")[0][0]
        except Exception as e:  # noqa: BLE001
            failures.append(f"SELECT count(*) FROM {view}: {first_line(e)}")
            continue
        if got != want:
            failures.append(f"{view}: {got} rows, ltx's DuckDB counts {want}")

    for example in expected["examples"]:
        statements += 1
        sql = example["sql"].strip().rstrip(";")
        try:
            got = len(client.rows(sql))
        except Exception as e:  # noqa: BLE001
            failures.append(f"example failed:\n{sql}\n{first_line(e)}")
            continue
        if got != example["rows"]:
            failures.append(f"example: {got} rows, expected {example['rows']}:\n{sql}")

    # Read-only: a BI tool must not be able to write into the catalog.
    try:
        client.rows("CREATE TABLE _bi_client_probe (i INTEGER)")
        failures.append("the catalog was opened writable")
    except Exception as e:  # noqa: BLE001 - the refusal is the expected outcome
        if "read-only" not in str(e).lower():
            failures.append(f"writing was refused, but not as read-only: {first_line(e)}")

    print(
        f"{client.version}: {len(want_views)} views ({columns} columns reflected), "
        f"{statements} statements run, time zone {SESSION_TIME_ZONE}"
    )
    if failures:
        print("FAILED:\n" + "\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
