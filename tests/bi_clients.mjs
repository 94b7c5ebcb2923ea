// The warehouse catalog as a Node.js BI tool sees it (Evidence's DuckDB connector is built
// on @duckdb/node-api): the same checks as bi_clients.py, run by tests/bi_clients.rs with
//
//     node bi_clients.mjs NODE_MODULES_DIR EXPECTED.json
//
// where NODE_MODULES_DIR holds @duckdb/node-api (.ci/run installs it from the npm
// registry). Opens the catalog READ-ONLY in a session time zone far from UTC, lists the
// views and describes each one, counts the rows of every view, runs every example of
// sql/README.md, compares the counts with ltx's own DuckDB, and checks that writing is
// refused. Prints a short summary; exits 1 with the differences when a check fails.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const SESSION_TIME_ZONE = "America/Los_Angeles";

const [modulesDir, expectedFile] = process.argv.slice(2);
const entry = createRequire(join(modulesDir, "noop.js")).resolve("@duckdb/node-api");
const { DuckDBInstance } = await import(pathToFileURL(entry).href);
const expected = JSON.parse(readFileSync(expectedFile, "utf8"));

const quoted = (name) => '"' + name.replaceAll('"', '""') + '"';
const firstLine = (e) => String(e?.message ?? e).trim().split("\n")[0];

const instance = await DuckDBInstance.create(expected.catalog, { access_mode: "READ_ONLY" });
const con = await instance.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRows();
await rows(`SET TimeZone = '${SESSION_TIME_ZONE}'`);
const version = (await rows("SELECT version()"))[0][0];
const failures = [];

const views = (
  await rows("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")
).map((r) => r[0]);
const wantViews = Object.keys(expected.views).sort();
if (JSON.stringify(views) !== JSON.stringify(wantViews)) {
  failures.push(`views: got ${views}, expected ${wantViews}`);
}

let columns = 0;
let statements = 0;
for (const view of wantViews) {
  try {
    const cols = await rows(`DESCRIBE ${quoted(view)}`);
    if (cols.length === 0) failures.push(`describing ${view}: no columns`);
    columns += cols.length;
  } catch (e) {
    failures.push(`describing ${view}: ${firstLine(e)}`);
  }
  statements += 1;
  try {
    const got = Number((await rows(`SELECT count(*) FROM ${quoted(view)}`))[0][0]);
    if (got !== expected.views[view]) {
      failures.push(`${view}: ${got} rows, ltx's DuckDB counts ${expected.views[view]}`);
    }
  } catch (e) {
    failures.push(`SELECT count(*) FROM ${view}: ${firstLine(e)}`);
  }
}

for (const example of expected.examples) {
  statements += 1;
  const sql = example.sql.trim().replace(/;$/, "");
  try {
    const got = (await rows(sql)).length;
    if (got !== example.rows) {
      failures.push(`example: ${got} rows, expected ${example.rows}:\n${sql}`);
    }
  } catch (e) {
    failures.push(`example failed:\n${sql}\n${firstLine(e)}`);
  }
}

try {
  await rows("CREATE TABLE _bi_client_probe (i INTEGER)");
  failures.push("the catalog was opened writable");
} catch (e) {
  if (!String(e?.message ?? e).toLowerCase().includes("read-only")) {
    failures.push(`writing was refused, but not as read-only: ${firstLine(e)}`);
  }
}

console.log(
  `node-api ${version}: ${wantViews.length} views (${columns} columns described), ` +
    `${statements} statements run, time zone ${SESSION_TIME_ZONE}`,
);
if (failures.length > 0) {
  console.log("FAILED:\n" + failures.join("\n"));
  process.exit(1);
}
