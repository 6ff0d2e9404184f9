import { request } from 'undici';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One request over real HTTP; the body is read whole. */
export async function call(
  url: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await request(url, {
    method: (options.method ?? 'GET') as 'GET',
    body: options.body,
    headers: options.headers,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

/**
 * `count` GETs of /items/k and /items/missing (every third: 404), `concurrency` at a time; each
 * status is checked. Put `k` first.
 */
export async function getItems(url: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const missing = i % 3 === 2;
      const answer = await call(`${url}/items/${missing ? 'missing' : 'k'}`);
      if (answer.status !== (missing ? 404 : 200))
        throw new Error(`GET /items/${missing ? 'missing' : 'k'}: ${answer.status} ${answer.text}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
