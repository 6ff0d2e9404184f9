/** Which HTTP client the load engine drives (kept apart so the config can name them without loading either). */

/** `builtin`: this package's HTTP/1.1 client over node:net (http: only). `undici`: undici's Client. */
export type HttpClientKind = 'builtin' | 'undici';
export const HTTP_CLIENT_KINDS: readonly HttpClientKind[] = ['builtin', 'undici'];
