import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { copyRange } from '../../functions/core/copy-range.js';
import { type PlanResult, plan } from '../../functions/core/plan.js';
import type { Policies } from '../../functions/core/policies.js';
import { summarize } from '../../functions/core/summarize.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import { assertTargetExact } from '../support/exactness.js';

const TABLE = 'spatial_values';
const DEFAULTS = { table: TABLE, chunkRows: 100_000, concurrency: 1 };

// Each kind of geometry, with SRIDs 0, 4326 and 3857, doubles at the edges, a polygon with a
// hole and an empty collection; row 3 is NULLs.
const ROWS = [
  [
    "ST_GeomFromText('POINT(1.5 -2.25)')",
    "ST_GeomFromText('POINT(0.1 0.2)', 4326)",
    "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0.5)', 3857)",
    "ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 3 2, 3 3, 2 2))', 4326)",
    "ST_GeomFromText('MULTIPOINT(1 1, 2 2)')",
    "ST_GeomFromText('MULTILINESTRING((0 0, 1 1), (2 2, 3 3))', 4326)",
    "ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))', 4326)",
    "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))', 4326)",
  ],
  [
    "ST_GeomFromText('LINESTRING(1e308 -1e-300, -0.000001 123456789.123456789)', 4326)",
    "ST_GeomFromText('POINT(-180 -90)', 3857)",
    'NULL',
    'NULL',
    'NULL',
    'NULL',
    'NULL',
    "ST_GeomFromText('GEOMETRYCOLLECTION EMPTY')",
  ],
  ['NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL'],
];
const COLUMNS = ['g', 'p', 'ls', 'pg', 'mp', 'mls', 'mpg', 'gc'];
const SPATIAL_VALUES = ROWS.flat().filter((value) => value !== 'NULL').length;

async function createSource(pair: ConnectionPair): Promise<void> {
  await dropTables(pair, TABLE);
  await pair.source.promise().query(
    `CREATE TABLE ${TABLE} (id INT PRIMARY KEY, g GEOMETRY NULL, p POINT NULL, ls LINESTRING NULL, pg POLYGON NULL,
       mp MULTIPOINT NULL, mls MULTILINESTRING NULL, mpg MULTIPOLYGON NULL, gc GEOMETRYCOLLECTION NULL)`,
  );
  const values = ROWS.map((row, i) => `(${[i + 1, ...row].join(', ')})`);
  await pair.source.promise().query(`INSERT INTO ${TABLE} (id, ${COLUMNS.join(', ')}) VALUES ${values.join(', ')}`);
}

let runs = 0;

async function planRun(pair: ConnectionPair, policies: Partial<Policies> = {}): Promise<PlanResult> {
  const runId = `spatial-${process.pid}-${++runs}`;
  return plan({ input: { table: TABLE, policies }, runId, execution: `local:${runId}` }, pair, DEFAULTS);
}

const item = (planned: PlanResult) => ({
  runId: planned.runId,
  table: TABLE,
  range: planned.ranges[0]!,
  policies: planned.policies,
});

async function targetTypes(pair: ConnectionPair): Promise<string[]> {
  const { rows } = await pair.target.query<{ type: string }>(
    `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 1 AND NOT attisdropped ORDER BY attnum`,
    [`public.${TABLE}`],
  );
  return rows.map((row) => row.type);
}

/** Copies and verifies the table's one range, ends the run, and returns what CopyRange counted. */
async function copyAndVerify(pair: ConnectionPair, planned: PlanResult) {
  const copied = await copyRange(item(planned), pair);
  const verified = await verifyRange(item(planned), pair);
  return { copied, verified };
}

describe('spatial columns into a target without PostGIS: EWKB in bytea, policy spatial', () => {
  let pair: ConnectionPair;
  let planned: PlanResult;

  before(async () => {
    pair = await openPair();
    await pair.target.query('DROP EXTENSION IF EXISTS postgis CASCADE');
    await createSource(pair);
  });
  after(async () => {
    if (planned) await summarize({ runId: planned.runId }, pair.target).catch(() => {});
    await closePair(pair);
  });

  test('under spatial: fail, Plan refuses the table, naming its spatial columns, before anything is written', async () => {
    await assert.rejects(planRun(pair, { spatial: 'fail' }), {
      name: 'SchemaError',
      message: `Table ${TABLE} has spatial columns ${COLUMNS.join(', ')}, and the target database has no PostGIS (spatial: fail): CREATE EXTENSION postgis in the target database, or choose spatial: bytea to store their EWKB bytes`,
    });
    const { rows } = await pair.target.query('SELECT to_regclass($1) AS t', [`public.${TABLE}`]);
    assert.equal(rows[0].t, null);
  });

  test('by default each value arrives as its EWKB bytes, counted, and verified exactly', async () => {
    planned = await planRun(pair);
    assert.deepEqual(await targetTypes(pair), Array(COLUMNS.length).fill('bytea'));
    const { copied, verified } = await copyAndVerify(pair, planned);
    assert.equal(copied.rows, ROWS.length);
    assert.equal(copied.policyCounts.spatial, SPATIAL_VALUES);
    assert.equal(verified.rows, ROWS.length);
    await assertTargetExact(pair, TABLE);
    // SRID 4326 travels inside the bytes.
    const { rows } = await pair.target.query(`SELECT encode(p, 'hex') AS p FROM public.${TABLE} WHERE id = 1`);
    assert.equal(rows[0].p, `0101000020e6100000${Buffer.from(new Float64Array([0.1, 0.2]).buffer).toString('hex')}`);
  });

  test('VerifyRange finds a value whose SRID changed in the target', async () => {
    // The SRID's bytes of row 1's point: 4326 becomes 3857.
    await pair.target.query(
      `UPDATE public.${TABLE} SET p = overlay(p PLACING '\\x110f0000'::bytea FROM 6 FOR 4) WHERE id = 1`,
    );
    await assert.rejects(verifyRange(item(planned), pair), {
      name: 'VerificationMismatchError',
      message: /column p at key 1/,
    });
  });

  test('once PostGIS is there, ST_GeomFromEWKB reads each value back as MySQL holds it', async () => {
    await copyRange(item(planned), pair);
    await pair.target.query('CREATE EXTENSION postgis');
    const geometries = COLUMNS.map((c) => `ST_GeomFromEWKB(${c}) AS ${c}`).join(', ');
    await pair.target.query(`CREATE TABLE public.${TABLE}_geometry AS SELECT id, ${geometries} FROM public.${TABLE}`);
    try {
      const { rows } = await pair.target.query(
        `SELECT ${COLUMNS.map((c) => `ST_SRID(${c}) || ':' || encode(ST_AsBinary(${c}), 'hex') AS ${c}`).join(', ')}
           FROM public.${TABLE}_geometry ORDER BY id`,
      );
      const [source] = await pair.source
        .promise()
        .query(
          `SELECT ${COLUMNS.map((c) => `CONCAT(ST_SRID(${c}), ':', LOWER(HEX(ST_AsBinary(${c})))) AS ${c}`).join(', ')} FROM ${TABLE} ORDER BY id`,
        );
      assert.deepEqual(rows, source);
    } finally {
      await pair.target.query(`DROP TABLE public.${TABLE}_geometry`);
    }
  });
});

describe('spatial columns into a target with PostGIS: geometry of each kind, with the SRID', () => {
  let pair: ConnectionPair;
  let planned: PlanResult;

  before(async () => {
    pair = await openPair();
    await pair.target.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await createSource(pair);
  });
  after(async () => {
    if (planned) await summarize({ runId: planned.runId }, pair.target).catch(() => {});
    await dropTables(pair, TABLE);
    // The extension was this test's; the database is left as other tests expect it.
    await pair.target.query('DROP EXTENSION IF EXISTS postgis CASCADE');
    await closePair(pair);
  });

  test('Plan creates geometry columns of the kind of each, and every value arrives exactly, uncounted', async () => {
    planned = await planRun(pair, { spatial: 'fail' });
    assert.deepEqual(await targetTypes(pair), [
      'geometry',
      'geometry(Point)',
      'geometry(LineString)',
      'geometry(Polygon)',
      'geometry(MultiPoint)',
      'geometry(MultiLineString)',
      'geometry(MultiPolygon)',
      'geometry(GeometryCollection)',
    ]);
    const { copied, verified } = await copyAndVerify(pair, planned);
    assert.equal(copied.rows, ROWS.length);
    assert.equal(copied.policyCounts.spatial, 0);
    assert.equal(verified.rows, ROWS.length);
    await assertTargetExact(pair, TABLE);
    const { rows } = await pair.target.query(
      `SELECT ST_AsEWKT(p) AS p, ST_AsEWKT(pg) AS pg FROM public.${TABLE} WHERE id = 1`,
    );
    assert.deepEqual(rows[0], {
      p: 'SRID=4326;POINT(0.1 0.2)',
      pg: 'SRID=4326;POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))',
    });
  });

  test('VerifyRange finds a geometry whose SRID or coordinates changed in the target', async () => {
    await pair.target.query(`UPDATE public.${TABLE} SET g = ST_SetSRID(g, 4326) WHERE id = 1`);
    await assert.rejects(verifyRange(item(planned), pair), {
      name: 'VerificationMismatchError',
      message: /column g at key 1/,
    });
    await copyRange(item(planned), pair);
    await pair.target.query(`UPDATE public.${TABLE} SET ls = ST_Translate(ls, 1e-9, 0) WHERE id = 1`);
    await assert.rejects(verifyRange(item(planned), pair), {
      name: 'VerificationMismatchError',
      message: /column ls at key 1/,
    });
  });
});
