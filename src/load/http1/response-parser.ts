/**
 * An incremental HTTP/1.x response parser for the load generator's own connections. It reads only
 * what a client needs to count and frame responses: the status, Content-Length, Transfer-Encoding
 * and Connection. Bodies are skipped, never copied. Bytes may arrive split anywhere.
 *
 * Framing follows RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304; chunked when the last
 * transfer coding is chunked; else Content-Length; else the body runs to the end of the connection.
 */

export class ResponseParseError extends Error {
  readonly code = 'LOAD_BAD_RESPONSE';
}

/** What the parser reports; the connection owns the queue of requests the responses belong to. */
export interface ResponseEvents {
  /** The head of a final (non-1xx) response was read. */
  onResponseHead(status: number): void;
  /** The response is complete; `keepAlive` says whether the connection can carry another. */
  onResponseComplete(status: number, keepAlive: boolean): void;
}

/** Headers larger than this are refused, as undici and Node's server do (they default to 16 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE_BYTES = 4096;

const CR = 13;
const LF = 10;
const HEAD_END = Buffer.from('\r\n\r\n');

// Parser states.
const HEAD = 0;
const FIXED_BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_DATA_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;

interface Head {
  status: number;
  keepAlive: boolean;
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
}

function parseHead(text: string): Head {
  // Status line: HTTP/1.x SP 3DIGIT [SP reason-phrase]
  const lineEnd = text.indexOf('\r\n');
  const statusLineLength = lineEnd === -1 ? text.length : lineEnd;
  const minor = text.charCodeAt(7) - 48;
  const status = Number(text.slice(9, 12));
  if (
    !text.startsWith('HTTP/1.') ||
    (minor !== 0 && minor !== 1) ||
    text.charCodeAt(8) !== 32 ||
    !/^[1-9]\d\d$/.test(text.slice(9, 12)) ||
    (statusLineLength > 12 && text.charCodeAt(12) !== 32) ||
    statusLineLength < 12
  ) {
    throw new ResponseParseError(
      `malformed status line: ${JSON.stringify(text.slice(0, Math.min(statusLineLength, 40)))}`,
    );
  }
  const head: Head = { status, keepAlive: minor === 1, contentLength: -1, chunked: false };
  let lineStart = text.indexOf('\r\n') + 2;
  while (lineStart > 1 && lineStart < text.length) {
    let lineEnd = text.indexOf('\r\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const colon = text.indexOf(':', lineStart);
    if (colon === -1 || colon > lineEnd || colon === lineStart) {
      throw new ResponseParseError(`malformed header line: ${JSON.stringify(text.slice(lineStart, lineEnd))}`);
    }
    // Only three headers matter; look at the first letter before lowercasing anything.
    const first = text.charCodeAt(lineStart) | 0x20;
    if (first === 99 /* c */ || first === 116 /* t */) {
      const name = text.slice(lineStart, colon).toLowerCase();
      if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection') {
        applyHeader(head, name, text.slice(colon + 1, lineEnd).trim());
      }
    }
    lineStart = lineEnd + 2;
  }
  return head;
}

function applyHeader(head: Head, name: string, value: string): void {
  if (name === 'content-length') {
    if (!/^\d{1,15}$/.test(value)) throw new ResponseParseError(`bad Content-Length: ${JSON.stringify(value)}`);
    const length = Number(value);
    if (head.contentLength !== -1 && head.contentLength !== length) {
      throw new ResponseParseError('conflicting Content-Length headers');
    }
    head.contentLength = length;
  } else if (name === 'transfer-encoding') {
    const codings = value.toLowerCase().split(',');
    head.chunked = codings[codings.length - 1]?.trim() === 'chunked';
    // A transfer coding that is not chunked last means the body runs to the close (RFC 9112 §6.3).
    if (!head.chunked) head.keepAlive = false;
  } else {
    for (const option of value.toLowerCase().split(',')) {
      const o = option.trim();
      if (o === 'close') head.keepAlive = false;
      else if (o === 'keep-alive') head.keepAlive = true;
    }
  }
}

export class ResponseParser {
  readonly #events: ResponseEvents;
  #state = HEAD;
  /** Bytes of a head (or chunk-size/trailer line) that arrived without its end yet. */
  #partial: Buffer | undefined;
  #status = 0;
  #keepAlive = true;
  #remaining = 0;
  /** Set when the connection will read no more from this stream (closed, or not keep-alive). */
  #halted = false;
  /** Set by the connection for the response it expects next: a HEAD request's response has no body. */
  expectNoBody = false;

  constructor(events: ResponseEvents) {
    this.#events = events;
  }

  /** Call when the connection ends: a body that runs to the close is complete now. */
  finish(): boolean {
    if (this.#state === UNTIL_CLOSE) {
      this.#complete(false);
      return true;
    }
    return false;
  }

  /** Ignores whatever else arrives on this connection. */
  halt(): void {
    this.#halted = true;
  }

  /** Parses `data`; throws ResponseParseError on bytes that are not an HTTP/1.x response. */
  execute(data: Buffer): void {
    let buf = data;
    if (this.#partial !== undefined) {
      buf = Buffer.concat([this.#partial, data]);
      this.#partial = undefined;
    }
    let at = 0;
    const end = buf.length;
    while (at < end && !this.#halted) {
      switch (this.#state) {
        case HEAD: {
          // A stray CRLF between responses is tolerated, as RFC 9112 §2.2 allows.
          if (buf[at] === CR && buf[at + 1] === LF) {
            at += 2;
            break;
          }
          const headEnd = buf.indexOf(HEAD_END, at);
          if (headEnd === -1) {
            if (end - at > MAX_HEAD_BYTES) throw new ResponseParseError(`response head over ${MAX_HEAD_BYTES} bytes`);
            this.#partial = buf.subarray(at);
            return;
          }
          if (headEnd - at > MAX_HEAD_BYTES) throw new ResponseParseError(`response head over ${MAX_HEAD_BYTES} bytes`);
          const head = parseHead(buf.toString('latin1', at, headEnd));
          at = headEnd + 4;
          this.#startBody(head);
          break;
        }
        case FIXED_BODY: {
          const take = Math.min(this.#remaining, end - at);
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#complete(this.#keepAlive);
          break;
        }
        case CHUNK_SIZE: {
          const lineEnd = this.#lineEnd(buf, at);
          if (lineEnd === -1) return;
          this.#remaining = chunkSize(buf.toString('latin1', at, lineEnd));
          at = lineEnd + 2;
          this.#state = this.#remaining === 0 ? TRAILERS : CHUNK_DATA;
          break;
        }
        case CHUNK_DATA: {
          const take = Math.min(this.#remaining, end - at);
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            this.#state = CHUNK_DATA_END;
            this.#remaining = 2;
          }
          break;
        }
        case CHUNK_DATA_END: {
          // The CRLF after a chunk's data, possibly split across reads.
          const expected = this.#remaining === 2 ? CR : LF;
          if (buf[at] !== expected) throw new ResponseParseError('chunk data not followed by CRLF');
          at++;
          if (--this.#remaining === 0) this.#state = CHUNK_SIZE;
          break;
        }
        case TRAILERS: {
          const lineEnd = this.#lineEnd(buf, at);
          if (lineEnd === -1) return;
          const empty = lineEnd === at;
          at = lineEnd + 2;
          if (empty) this.#complete(this.#keepAlive);
          break;
        }
        case UNTIL_CLOSE:
          return;
      }
    }
  }

  /** Index of the CRLF ending the line at `at`, or -1 after keeping the partial line for later. */
  #lineEnd(buf: Buffer, at: number): number {
    const lineEnd = buf.indexOf('\r\n', at, 'latin1');
    if (lineEnd !== -1) {
      if (lineEnd - at > MAX_CHUNK_LINE_BYTES) throw new ResponseParseError('chunk or trailer line too long');
      return lineEnd;
    }
    if (buf.length - at > MAX_CHUNK_LINE_BYTES) throw new ResponseParseError('chunk or trailer line too long');
    this.#partial = buf.subarray(at);
    return -1;
  }

  #startBody(head: Head): void {
    const { status } = head;
    if (status < 200) {
      // 101 would switch protocols, which a load generator never asks for.
      if (status === 101) throw new ResponseParseError('unexpected 101 Switching Protocols');
      return; // interim response: the final one follows
    }
    this.#status = status;
    this.#keepAlive = head.keepAlive;
    this.#events.onResponseHead(status);
    if (this.expectNoBody || status === 204 || status === 304) {
      this.#complete(head.keepAlive);
    } else if (head.chunked) {
      this.#state = CHUNK_SIZE;
    } else if (head.contentLength >= 0) {
      this.#remaining = head.contentLength;
      if (head.contentLength === 0) this.#complete(head.keepAlive);
      else this.#state = FIXED_BODY;
    } else {
      this.#keepAlive = false;
      this.#state = UNTIL_CLOSE;
    }
  }

  #complete(keepAlive: boolean): void {
    this.#state = HEAD;
    // Bytes after a response that closes the connection are not a response of ours.
    if (!keepAlive) this.#halted = true;
    this.#events.onResponseComplete(this.#status, keepAlive);
  }
}

function chunkSize(line: string): number {
  const semicolon = line.indexOf(';');
  const hex = (semicolon === -1 ? line : line.slice(0, semicolon)).trim();
  if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseParseError(`bad chunk size: ${JSON.stringify(line)}`);
  return Number.parseInt(hex, 16);
}
