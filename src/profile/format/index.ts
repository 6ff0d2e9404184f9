/** The trace format: schema, encoder (used by the recorder's writer thread) and the one decoder. */
export * from './decoder.js';
export { encodeHeader, SegmentEncoder } from './encoder.js';
export { gunzip, isGzip } from './gzip.js';
export { checkHeader } from './header-check.js';
export * from './schema.js';
