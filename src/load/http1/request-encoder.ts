/**
 * Load requests as the bytes that go on the wire, encoded once per distinct request: the workloads
 * hand out the same request objects over and over, so sending is a cache hit and a socket write.
 */
import type { LoadRequest } from '../workload.js';

/** Methods whose requests carry a body by convention; without one they say `content-length: 0`. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
// What may go on the wire as is (RFC 9110 §5.1, §5.5; RFC 9112 §3.2), checked once per distinct
// request. Values are written as latin-1, so anything above U+00FF is refused rather than truncated
// to its low byte (which could forge a CR or LF).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export class RequestEncoder {
  readonly #host: string;
  readonly #cache = new WeakMap<LoadRequest, Buffer>();

  /** `host` is the Host header: hostname and, unless it is the default, port. */
  constructor(host: string) {
    this.#host = host;
  }

  encode(request: LoadRequest): Buffer {
    let bytes = this.#cache.get(request);
    if (bytes === undefined) {
      bytes = this.#build(request);
      this.#cache.set(request, bytes);
    }
    return bytes;
  }

  #build(request: LoadRequest): Buffer {
    const { method, path, headers, body } = request;
    if (!TOKEN.test(method)) throw new Error(`not an HTTP method: ${JSON.stringify(method)}`);
    if (!TARGET.test(path)) throw new Error(`not a request target: ${JSON.stringify(path)}`);
    let head = `${method} ${path} HTTP/1.1\r\n`;
    let hasHost = false;
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (!TOKEN.test(name)) throw new Error(`not a header name: ${JSON.stringify(name)}`);
      if (!FIELD_VALUE.test(value)) throw new Error(`header ${name} has a value that cannot be sent as is`);
      const lower = name.toLowerCase();
      // Framing is ours to write, from the body actually sent.
      if (lower === 'content-length' || lower === 'transfer-encoding') continue;
      if (lower === 'host') hasHost = true;
      head += `${name}: ${value}\r\n`;
    }
    if (!hasHost) head = head.replace('\r\n', `\r\nhost: ${this.#host}\r\n`);
    if (body !== undefined) head += `content-length: ${body.length}\r\n`;
    else if (BODY_METHODS.has(method)) head += 'content-length: 0\r\n';
    head += '\r\n';
    const headBytes = Buffer.from(head, 'latin1');
    return body === undefined ? headBytes : Buffer.concat([headBytes, body]);
  }
}
