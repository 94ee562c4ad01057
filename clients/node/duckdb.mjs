// Runs one SQL statement with DuckDB (@duckdb/node-api) and prints the rows
// as a JSON array of objects. Usage: node duckdb.mjs 'SELECT ... FROM read_parquet(...)'
import { DuckDBInstance } from '@duckdb/node-api';

const sql = process.argv[2];
if (!sql) {
  console.error('usage: node duckdb.mjs SQL');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const reader = await conn.runAndReadAll(sql);
console.log(JSON.stringify(reader.getRowObjectsJson()));
conn.closeSync();
