/**
 * An incremental HTTP/1.x response parser for the load generator's own connections. It reads only
 * what a client needs to count and frame responses: the status, Content-Length, Transfer-Encoding
 * and Connection. Bodies are skipped, never copied. Bytes may arrive split anywhere.
 *
 * Framing follows RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304; chunked when the last
 * transfer coding is chunked; to the close when another coding is last; else Content-Length; else
 * to the close. Framing that a smuggling-minded server could make ambiguous (Transfer-Encoding with
 * Content-Length, or on HTTP/1.0) closes the connection after the response.
 */

export class ResponseParseError extends Error {
  readonly code = 'LOAD_BAD_RESPONSE';
}

/** What the parser reports; the connection owns the queue of requests the responses belong to. */
export interface ResponseEvents {
  /** The head of a final (non-1xx) response was read. May throw ResponseParseError. */
  onResponseHead(status: number): void;
  /** The response is complete; `keepAlive` says whether the connection can carry another. */
  onResponseComplete(status: number, keepAlive: boolean): void;
}

/** Response heads larger than this are refused (undici and Node's server stop at 16 KiB by default). */
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

type Framing = 'none' | 'length' | 'chunked' | 'close';

interface Head {
  readonly status: number;
  readonly keepAlive: boolean;
  readonly framing: Framing;
  readonly contentLength: number;
}

const DIGITS = /^\d{1,15}$/;

/** Status line: HTTP/1.x SP 3DIGIT [SP reason-phrase]; checked by character, it is parsed per response. */
function parseStatusLine(text: string, length: number): { minor: number; status: number } {
  const minor = text.charCodeAt(7) - 48;
  const d0 = text.charCodeAt(9) - 48;
  const d1 = text.charCodeAt(10) - 48;
  const d2 = text.charCodeAt(11) - 48;
  if (
    length < 12 ||
    !text.startsWith('HTTP/1.') ||
    (minor !== 0 && minor !== 1) ||
    text.charCodeAt(8) !== 32 ||
    !(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) ||
    (length > 12 && text.charCodeAt(12) !== 32)
  ) {
    throw new ResponseParseError(`malformed status line: ${JSON.stringify(text.slice(0, Math.min(length, 40)))}`);
  }
  return { minor, status: d0 * 100 + d1 * 10 + d2 };
}

/** Whether text[start, start + word.length) is `word` (given in lower case), in any case. */
function nameIs(text: string, start: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    const c = text.charCodeAt(start + k);
    const w = word.charCodeAt(k);
    // Case folds letters only: 0x20 would also turn a CR into a '-'.
    if (c !== w && !(w >= 97 && w <= 122 && (c | 0x20) === w)) return false;
  }
  return true;
}

/** A plain decimal value between `from` and `to`, optional whitespace around it; -1 if it is anything else. */
function plainDecimal(text: string, from: number, to: number): number {
  let at = from;
  let end = to;
  while (at < end && (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9)) at++;
  while (end > at && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  if (end === at || end - at > 15) return -1;
  let n = 0;
  for (let k = at; k < end; k++) {
    const d = text.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

// Parsed once per response, so it reads the few headers that matter in place, without slicing the
// others: names are told apart by length (10, 14, 17) and compared case-insensitively where they are.
function parseHead(text: string): Head {
  const firstLineEnd = text.indexOf('\r\n');
  const { minor, status } = parseStatusLine(text, firstLineEnd === -1 ? text.length : firstLineEnd);
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let close = false;
  let keepAliveAsked = false;
  let lineStart = firstLineEnd === -1 ? text.length : firstLineEnd + 2;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\r\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const colon = text.indexOf(':', lineStart);
    if (colon === -1 || colon > lineEnd || colon === lineStart) {
      throw new ResponseParseError(`malformed header line: ${JSON.stringify(text.slice(lineStart, lineEnd))}`);
    }
    const nameLength = colon - lineStart;
    if (nameLength === 14 && nameIs(text, lineStart, 'content-length')) {
      const plain = plainDecimal(text, colon + 1, lineEnd);
      contentLength =
        plain !== -1 && contentLength === -1
          ? plain
          : mergeContentLength(contentLength, text.slice(colon + 1, lineEnd).trim());
    } else if (nameLength === 17 && nameIs(text, lineStart, 'transfer-encoding')) {
      const value = text
        .slice(colon + 1, lineEnd)
        .trim()
        .toLowerCase();
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
    } else if (nameLength === 10 && nameIs(text, lineStart, 'connection')) {
      let from = colon + 1;
      while (text.charCodeAt(from) === 32) from++;
      const valueLength = lineEnd - from;
      // The usual single values are read in place; lists and anything else the long way.
      if (valueLength === 10 && nameIs(text, from, 'keep-alive')) keepAliveAsked = true;
      else if (valueLength === 5 && nameIs(text, from, 'close')) close = true;
      else {
        for (const option of text.slice(from, lineEnd).toLowerCase().split(',')) {
          const o = option.trim();
          if (o === 'close') close = true;
          else if (o === 'keep-alive') keepAliveAsked = true;
        }
      }
    }
    lineStart = lineEnd + 2;
  }
  let keepAlive = !close && (minor === 1 || keepAliveAsked);
  let framing: Framing = contentLength === -1 ? 'close' : 'length';
  if (transferEncoding !== undefined) {
    const codings = transferEncoding.split(',');
    framing = codings[codings.length - 1]?.trim() === 'chunked' ? 'chunked' : 'close';
    if (framing === 'close' || contentLength !== -1 || minor === 0) keepAlive = false;
  }
  // (A body that runs to the close ends the connection too; that is decided once the status says
  // there is a body, since a 204 or 304 without a length is still keep-alive.)
  return { status, keepAlive, framing, contentLength };
}

/** Content-Length: digits, possibly repeated as a list or over several headers, all the same. */
function mergeContentLength(previous: number, value: string): number {
  if (previous === -1 && DIGITS.test(value)) return Number(value);
  let length = previous;
  for (const item of value.split(',')) {
    const digits = item.trim();
    if (!DIGITS.test(digits)) throw new ResponseParseError(`bad Content-Length: ${JSON.stringify(value)}`);
    const n = Number(digits);
    if (length !== -1 && length !== n) throw new ResponseParseError('conflicting Content-Length values');
    length = n;
  }
  return length;
}

export class ResponseParser {
  readonly #events: ResponseEvents;
  #state = HEAD;
  /** Bytes of a head, chunk-size or trailer line that arrived without its end yet. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
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
  finish(): void {
    if (this.#state === UNTIL_CLOSE && !this.#halted) this.#complete(false);
  }

  /** Ignores whatever else arrives on this connection. */
  halt(): void {
    this.#halted = true;
  }

  /** Parses `data`; throws ResponseParseError on bytes that are not an HTTP/1.x response. */
  execute(data: Buffer): void {
    let buf = data;
    if (this.#pending.length > 0) {
      // A head trickling in is kept as pieces until its end arrives, not copied on every read.
      if (this.#state === HEAD && !this.#headEndsIn(data)) {
        this.#keepPending(data, MAX_HEAD_BYTES);
        return;
      }
      this.#pending.push(data);
      buf = Buffer.concat(this.#pending);
      this.#pending = [];
      this.#pendingBytes = 0;
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
            this.#keepPending(buf.subarray(at), MAX_HEAD_BYTES);
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

  /** Whether the end of a head is in `data`, or straddles the seam with the pending bytes. */
  #headEndsIn(data: Buffer): boolean {
    if (data.indexOf(HEAD_END) !== -1) return true;
    const seam: number[] = [];
    for (let i = this.#pending.length - 1; i >= 0 && seam.length < 3; i--) {
      const piece = this.#pending[i] as Buffer;
      for (let j = piece.length - 1; j >= 0 && seam.length < 3; j--) seam.unshift(piece[j] as number);
    }
    for (let j = 0; j < Math.min(3, data.length); j++) seam.push(data[j] as number);
    return Buffer.from(seam).indexOf(HEAD_END) !== -1;
  }

  #keepPending(piece: Buffer, limit: number): void {
    this.#pending.push(piece);
    this.#pendingBytes += piece.length;
    if (this.#pendingBytes > limit) {
      throw new ResponseParseError(
        limit === MAX_HEAD_BYTES ? `response head over ${MAX_HEAD_BYTES} bytes` : 'chunk or trailer line too long',
      );
    }
  }

  /** Index of the CRLF ending the line at `at`, or -1 after keeping the partial line for later. */
  #lineEnd(buf: Buffer, at: number): number {
    const lineEnd = buf.indexOf('\r\n', at, 'latin1');
    if (lineEnd !== -1) {
      if (lineEnd - at > MAX_CHUNK_LINE_BYTES) throw new ResponseParseError('chunk or trailer line too long');
      return lineEnd;
    }
    this.#keepPending(buf.subarray(at), MAX_CHUNK_LINE_BYTES);
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
    // The handler may have given up on the request (and the connection) just now.
    if (this.#halted) return;
    if (this.expectNoBody || status === 204 || status === 304) {
      this.#complete(head.keepAlive);
    } else if (head.framing === 'chunked') {
      this.#state = CHUNK_SIZE;
    } else if (head.framing === 'length') {
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
