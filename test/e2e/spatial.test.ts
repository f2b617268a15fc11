import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { assertTargetExact } from '../support/exactness.js';

const TABLE = 'spatial_e2e_places';

describe('a spatial column through the workflow', () => {
  let pair: ConnectionPair;

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await pair.source
      .promise()
      .query(
        `CREATE TABLE ${TABLE} (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, location POINT NULL, area POLYGON NULL)`,
      );
    await pair.source.promise().query(
      `INSERT INTO ${TABLE} VALUES
         (1, 'Berlin', ST_GeomFromText('POINT(13.4050 52.5200)', 4326), NULL),
         (2, 'a field', NULL, ST_GeomFromText('POLYGON((0 0, 100 0, 100 50, 0 0))', 3857)),
         (3, 'nowhere', NULL, NULL)`,
    );
  });
  after(async () => {
    await dropTables(pair, TABLE);
    await pair.target.query('DROP EXTENSION IF EXISTS postgis CASCADE');
    await closePair(pair);
  });

  for (const postgis of [false, true]) {
    test(`arrives exactly and verified, ${postgis ? 'as PostGIS geometry' : 'as EWKB bytes under policy spatial'}`, async () => {
      // The target anew; the source keeps its rows.
      await pair.target.query(`DROP TABLE IF EXISTS public.${TABLE}`);
      await pair.target.query(postgis ? 'CREATE EXTENSION IF NOT EXISTS postgis' : 'DROP EXTENSION IF EXISTS postgis');
      const outcome = await migrateLocally({
        sourceUrl: SOURCE_URL,
        targetUrl: TARGET_URL,
        input: { table: TABLE, chunkRows: 2 },
      });
      assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
      assert.deepEqual(
        { ranges: outcome.summary?.ranges, verifiedRows: outcome.summary?.verifiedRows },
        { ranges: 2, verifiedRows: 3 },
      );
      assert.equal(outcome.summary?.policyCounts.spatial, postgis ? 0 : 2);
      await assertTargetExact(pair, TABLE);
    });
  }
});
