/** What a failed network call was, from its error code (undici's and Node's), for both HTTP clients here. */

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The error's code, or its cause's (undici wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  const own = (err as { code?: unknown } | undefined)?.code;
  if (typeof own === 'string') return own;
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

/** 'connect' when no connection could be made, 'reset' when one broke, undefined otherwise. */
export function classifyNetworkError(err: unknown): 'connect' | 'reset' | undefined {
  const code = errorCode(err);
  if (code === undefined) return undefined;
  if (CONNECT_CODES.has(code)) return 'connect';
  if (RESET_CODES.has(code)) return 'reset';
  return undefined;
}
