import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { finishReport } from '../../infra/cli/migrate.js';

describe("the migrate command's report of the finishing step", () => {
  test('says what Finish built, then each object not valid or not carried with why', () => {
    const lines = finishReport({
      status: 'finished',
      error: null,
      counts: { created: 5, present: 2, updated: 1, 'not valid': 1, 'not carried': 1 },
      attention: [
        {
          kind: 'foreign key',
          table: 'film_actor',
          name: 'fk_film_actor_film',
          status: 'not valid',
          detail: 'rows of film_actor break it, for example id=77, film_id=999',
          definition: 'ALTER TABLE ...',
        },
        {
          kind: 'source view',
          table: null,
          name: 'actor_info',
          status: 'not carried',
          detail: 'not translated',
          definition: 'select ...',
        },
      ],
    });
    assert.deepEqual(lines, [
      'Finish: finished; 5 created, 2 present, 1 updated, 1 not valid, 1 not carried',
      '  not valid: foreign key film_actor.fk_film_actor_film: rows of film_actor break it, for example id=77, film_id=999',
      '  not carried: source view actor_info: not translated',
    ]);
  });
});
