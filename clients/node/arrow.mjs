// Reads an Arrow IPC file or stream with Apache Arrow's JavaScript reader
// (apache-arrow) and prints a JSON summary: the column names, the row count
// and the row with the largest value of one column among the rows matching
// simple equality filters.
//
// Usage: node arrow.mjs (FILE | URL) [--body JSON] [--where col=val,...] --max COL [--show col,...]
// A URL is POSTed with --body and Accept: application/vnd.apache.arrow.stream.
import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';

const args = process.argv.slice(2);
const src = args[0];
const opt = {};
for (let i = 1; i + 1 < args.length; i += 2) opt[args[i].replace(/^--/, '')] = args[i + 1];
if (!src || !opt.max) {
  console.error('usage: node arrow.mjs (FILE | URL) [--body JSON] [--where col=val,...] --max COL [--show col,...]');
  process.exit(2);
}

let bytes;
let contentType = '';
if (/^https?:\/\//.test(src)) {
  const res = await fetch(src, {
    method: 'POST',
    headers: { 'Accept': 'application/vnd.apache.arrow.stream', 'Content-Type': 'application/json' },
    body: opt.body ?? '{}',
  });
  contentType = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    console.error(`HTTP ${res.status}: ${await res.text()}`);
    process.exit(1);
  }
  bytes = new Uint8Array(await res.arrayBuffer());
} else {
  bytes = readFileSync(src);
}
const table = tableFromIPC(bytes);

const where = (opt.where ?? '').split(',').filter(Boolean).map((kv) => {
  const [k, v] = kv.split('=');
  return [table.getChild(k), v];
});
for (const [col, _] of where) if (!col) throw new Error('unknown --where column');
const target = table.getChild(opt.max);
if (!target) throw new Error(`no column ${opt.max}`);
const show = (opt.show ?? '').split(',').filter(Boolean);

const plain = (v) => (typeof v === 'bigint' ? Number(v) : v);
let best = -1;
let bestVal = -Infinity;
for (let i = 0; i < table.numRows; i++) {
  let ok = true;
  for (const [col, v] of where) {
    const x = col.get(i);
    if (v === 'null' ? x !== null : String(plain(x)) !== v) { ok = false; break; }
  }
  if (!ok) continue;
  const x = target.get(i);
  if (x !== null && x > bestVal) { bestVal = x; best = i; }
}
const row = { row: best, value: bestVal };
for (const c of show) row[c] = plain(table.getChild(c).get(best));
console.log(JSON.stringify({
  contentType,
  numRows: table.numRows,
  columns: table.schema.fields.map((f) => f.name),
  best: row,
}));
