import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { copyPolicies, Unrepresentable } from '../../functions/core/codecs/codec.js';
import { ewkbOf, geometry, spatialBytea } from '../../functions/core/codecs/spatial.js';
import { DEFAULT_POLICIES, STRICT_POLICIES, zeroPolicyCounts } from '../../functions/core/policies.js';

/** MySQL's stored form of POINT(x y): the SRID, then little-endian WKB. */
function storedPoint(srid: number, x: number, y: number): Buffer {
  const stored = Buffer.alloc(25);
  stored.writeUInt32LE(srid, 0);
  stored[4] = 1;
  stored.writeUInt32LE(1, 5);
  stored.writeDoubleLE(x, 9);
  stored.writeDoubleLE(y, 17);
  return stored;
}

const coordinates = (x: number, y: number) => Buffer.from(new Float64Array([x, y]).buffer).toString('hex');

describe('spatial values: MySQL stored form to EWKB', () => {
  test('SRID 0 is plain WKB, the stored bytes without their SRID', () => {
    assert.equal(ewkbOf(storedPoint(0, 1, 2)).toString('hex'), `0101000000${coordinates(1, 2)}`);
  });

  test('another SRID follows the type, which carries the SRID flag', () => {
    assert.equal(ewkbOf(storedPoint(4326, 1, 2)).toString('hex'), `0101000020e6100000${coordinates(1, 2)}`);
  });

  test('bytes that are no geometry are refused, not carried', () => {
    assert.throws(() => ewkbOf(Buffer.from('00000000', 'hex')), Unrepresentable);
    assert.throws(() => ewkbOf(Buffer.concat([Buffer.alloc(4), Buffer.from([7]), Buffer.alloc(20)])), Unrepresentable);
  });
});

describe('the geometry codec (a target with PostGIS)', () => {
  const encode = geometry('point').encoder(copyPolicies(DEFAULT_POLICIES, zeroPolicyCounts(), true));

  test('writes hex EWKB, as PostGIS prints it', () => {
    assert.equal(
      encode(storedPoint(3857, -0.5, 1e-300)),
      `0101000020110F0000${coordinates(-0.5, 1e-300)}`.toUpperCase(),
    );
  });

  test('refuses an SRID PostGIS would change', () => {
    assert.throws(() => encode(storedPoint(1_000_000, 0, 0)), /SRID 1000000 is beyond PostGIS's largest, 999999/);
  });

  test("holds MySQL's kind of geometry, or any geometry, but not a typmod with an SRID", () => {
    const holds = (text: string) => geometry('point').holds({ text, name: text, mods: [] });
    assert.deepEqual(
      ['geometry', 'geometry(Point)', 'geometry(Point,4326)', 'geometry(LineString)', 'bytea'].map(holds),
      [true, true, false, false, false],
    );
  });
});

describe('the spatial bytea codec (a target without PostGIS): policy spatial', () => {
  test('bytea writes the EWKB bytes and counts each value', () => {
    const counts = zeroPolicyCounts();
    const encode = spatialBytea.encoder(copyPolicies(DEFAULT_POLICIES, counts, true));
    assert.equal(encode(storedPoint(4326, 1, 2)), `\\x0101000020e6100000${coordinates(1, 2)}`);
    assert.equal(counts.spatial, 1);
  });

  test('fail refuses the value, saying what would hold it', () => {
    const encode = spatialBytea.encoder(copyPolicies(STRICT_POLICIES, zeroPolicyCounts(), true));
    assert.throws(() => encode(storedPoint(0, 1, 2)), /the target database has no PostGIS .* \(spatial: fail\)/);
  });
});
