/** bin/dev.js runs the TypeScript sources directly (tsx), writer thread included. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import { isRequestRecord, type MetricLine, parseLines } from '../helpers/ndjson.js';
import { DEV_BIN, startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

describe('bin/dev.js', () => {
  after(stopAll);

  test('serves from the sources and writes records through the writer thread', async () => {
    const service = await startService([], {}, DEV_BIN);
    assert.equal((await call(`${service.url}/items/dev`, { method: 'PUT', body: 'x' })).status, 204);
    const [record] = await waitFor('a record on stdout', () => {
      const found = parseLines<MetricLine>(service.stdout()).filter(isRequestRecord);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(record?.properties?.Operation, 'SetItem');
    assert.equal(await service.stop(), 0);
  });
});
