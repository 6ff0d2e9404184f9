/** `Path` in the wide event is the path only, whatever form the request target took. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';

async function rawGet(url: string, target: string): Promise<number> {
  const socket = await openSocket(url);
  socket.write(`GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
  const text = await readUntilClose(socket);
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
}

describe('request targets: Path records the path only', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  test('absolute-form targets lose the client-chosen scheme and host', async () => {
    const targets: ReadonlyArray<[string, string]> = [
      ['http://x:1/items/a', '/items/a'],
      ['HTTPS://evil.example:443/items/b?q=1', '/items/b'],
      ['http://only-a-host', '/'],
      ['http://host?x=1', '/'],
      ['/items/c?d=e', '/items/c'],
    ];
    for (const [target] of targets) await rawGet(app.url, target);
    const records = await app.settledRequests(targets.length);
    assert.deepEqual(
      records.map((r) => r.properties?.Path),
      targets.map(([, path]) => path),
    );
    for (const r of records) assert.doesNotMatch(r.properties?.Path ?? '', /evil|x:1|only-a-host|:\/\//);
  });
});
