import type { ApplyPolicy, Codec, Covered, Defaults } from './codec.js';
import { Unrepresentable } from './codec.js';
import type { PgType } from './pg-type.js';

// EWKB's flag on the geometry type: an SRID follows the type.
const EWKB_SRID_FLAG = 0x20000000;
// PostGIS keeps SRIDs up to this one; it would map a larger one onto another.
const POSTGIS_MAX_SRID = 999_999;

/**
 * A stored MySQL geometry (4 bytes of SRID, little-endian, then the WKB) as EWKB: the WKB with
 * the SRID after its type, or the WKB itself when the SRID is 0. PostGIS reads and prints this.
 */
export function ewkbOf(stored: Buffer): Buffer {
  // The smallest WKB: byte order, type, and a count of zero parts.
  if (stored.length < 13 || stored[4]! > 1) {
    throw new Unrepresentable(
      `not a MySQL geometry (${stored.length} bytes starting ${stored.subarray(0, 5).toString('hex')})`,
    );
  }
  const srid = stored.readUInt32LE(0);
  const wkb = stored.subarray(4);
  if (srid === 0) return wkb;
  const littleEndian = wkb[0] === 1;
  const ewkb = Buffer.allocUnsafe(wkb.length + 4);
  ewkb[0] = wkb[0]!;
  const type = littleEndian ? wkb.readUInt32LE(1) : wkb.readUInt32BE(1);
  if (littleEndian) {
    ewkb.writeUInt32LE((type | EWKB_SRID_FLAG) >>> 0, 1);
    ewkb.writeUInt32LE(srid, 5);
  } else {
    ewkb.writeUInt32BE((type | EWKB_SRID_FLAG) >>> 0, 1);
    ewkb.writeUInt32BE(srid, 5);
  }
  wkb.copy(ewkb, 9, 5);
  return ewkb;
}

const stored = (value: string | Buffer) => (typeof value === 'string' ? Buffer.from(value, 'binary') : value);

/** The hex EWKB PostGIS prints for a geometry (little-endian on every platform it runs on). */
function postgisText(value: string | Buffer): string {
  const bytes = stored(value);
  const srid = bytes.length >= 4 ? bytes.readUInt32LE(0) : 0;
  if (srid > POSTGIS_MAX_SRID) {
    throw new Unrepresentable(`SRID ${srid} is beyond PostGIS's largest, ${POSTGIS_MAX_SRID}`);
  }
  return ewkbOf(bytes).toString('hex').toUpperCase();
}

const SPATIAL_DEFAULTS: Defaults = {
  expressions: [],
  literalsDropped: 'spatial default dropped (MySQL allows only expressions there)',
};

/** PostGIS's name of a MySQL spatial type: `point` is `Point`, `geometrycollection` `GeometryCollection`. */
const POSTGIS_SUBTYPES: Record<string, string> = {
  point: 'Point',
  linestring: 'LineString',
  polygon: 'Polygon',
  multipoint: 'MultiPoint',
  multilinestring: 'MultiLineString',
  multipolygon: 'MultiPolygon',
  geometrycollection: 'GeometryCollection',
};

/**
 * A spatial column as PostGIS `geometry`, constrained to the column's kind (`geometry(Point)`)
 * unless it is MySQL's `geometry`; each value keeps its own SRID, as in MySQL. Written and
 * compared as hex EWKB, which PostGIS reads and prints, so the same bytes arrive.
 */
export function geometry(dataType: string): Codec<'geometry'> {
  const subtype = POSTGIS_SUBTYPES[dataType];
  const pgType = subtype ? `geometry(${subtype})` : 'geometry';
  return {
    encoding: 'geometry',
    pgType,
    // A typmod with an SRID would refuse the values of other SRIDs MySQL's column may hold.
    holds: (target: PgType) => target.text === 'geometry' || target.text === pgType,
    read: { arrives: 'bytes' },
    encoder: () => postgisText,
    canonical: () => ({ source: postgisText, target: (text) => text.toUpperCase() }),
    defaults: SPATIAL_DEFAULTS,
  };
}

const WITHOUT_POSTGIS: Covered = {
  policy: 'spatial',
  refused: () => 'a spatial value, and the target database has no PostGIS (CREATE EXTENSION postgis) to hold it',
  named: () => 'a spatial value',
};

const ewkbBytea = (value: string | Buffer, apply: ApplyPolicy) =>
  apply(WITHOUT_POSTGIS, `\\x${ewkbOf(stored(value)).toString('hex')}`);

/**
 * A spatial column as `bytea` when the target has no PostGIS: each value's EWKB (WKB with its
 * SRID; plain WKB when the SRID is 0), which `ST_GeomFromEWKB` reads once PostGIS is there. The
 * database no longer knows it is a geometry, so it is the `spatial` policy's.
 */
export const spatialBytea: Codec<'spatialBytea'> = {
  encoding: 'spatialBytea',
  pgType: 'bytea',
  holds: (target) => target.text === 'bytea',
  read: { arrives: 'bytes' },
  encoder: (apply) => (value) => ewkbBytea(value, apply),
  canonical: (apply) => ({ source: (value) => ewkbBytea(value, apply), target: (text) => text }),
  defaults: SPATIAL_DEFAULTS,
};
