/** The options that bound what clients can make the service hold or do: store size, request rate. */
import type { RateLimit } from '../http/rate-limit.js';
import { MAX_STORE_ITEMS, type MemoryStoreLimits } from '../store/memory-store.js';
import { RUN_OPTIONS } from './options.js';
import { integer, invalid } from './parsers.js';

/** Rates above this are not a limit a single Node process could be asked to hold. */
const MAX_RPS = 1_000_000;
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
/** 1 TiB: far above any heap, so only typos are refused. */
const MAX_STORE_BYTES = 2 ** 40;

export function parseStoreLimits(bytesText: string, itemsText: string): MemoryStoreLimits {
  return Object.freeze({
    maxBytes: integer(
      RUN_OPTIONS.storeMaxBytes,
      bytesText,
      1,
      MAX_STORE_BYTES,
      `expected a size in bytes from 1 to ${MAX_STORE_BYTES}`,
    ),
    maxItems: integer(
      RUN_OPTIONS.storeMaxItems,
      itemsText,
      1,
      MAX_STORE_ITEMS,
      `expected a whole number of items from 1 to ${MAX_STORE_ITEMS} (the most a Map holds)`,
    ),
  });
}

/** Undefined when no rate is set; the burst defaults to one second's worth, at least 1. */
export function parseRateLimit(rpsText: string | undefined, burstText: string | undefined): RateLimit | undefined {
  if (rpsText === undefined) {
    if (burstText !== undefined)
      throw invalid(RUN_OPTIONS.rateLimitBurst, burstText, 'only applies with --rate-limit-rps');
    return undefined;
  }
  const trimmed = rpsText.trim();
  const rps = DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!(rps > 0 && rps <= MAX_RPS)) {
    throw invalid(
      RUN_OPTIONS.rateLimitRps,
      rpsText,
      `expected requests a second above 0 and at most ${MAX_RPS}, e.g. 100 or 0.5`,
    );
  }
  const burst =
    burstText === undefined
      ? Math.max(1, Math.ceil(rps))
      : integer(
          RUN_OPTIONS.rateLimitBurst,
          burstText,
          1,
          MAX_RPS,
          `expected a whole number of requests from 1 to ${MAX_RPS}`,
        );
  return Object.freeze({ rps, burst });
}
