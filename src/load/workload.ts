/**
 * What the load generator sends: one request over and over, or the items mix this service
 * understands (GET/PUT /items/:key, POST /echo) over a key space, uniform or zipf-skewed.
 * Requests are built once up front; choosing one is two random numbers and an array read.
 */
import { seededRandom, zipfSampler } from './random.js';

export interface LoadRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string> | undefined;
  readonly body: Buffer | undefined;
}

export interface Workload {
  next(): LoadRequest;
}

export type MixOp = 'get' | 'put' | 'echo';
export const MIX_OPS: readonly MixOp[] = ['get', 'put', 'echo'];

export type KeyDistribution = { readonly kind: 'uniform' } | { readonly kind: 'zipf'; readonly exponent: number };

export interface MixOptions {
  /** Path prefix of the service, '' for the root. */
  readonly basePath: string;
  readonly weights: ReadonlyArray<readonly [MixOp, number]>;
  readonly keys: number;
  readonly valueBytes: number;
  readonly distribution: KeyDistribution;
  readonly seed: number;
}

export class SingleRequest implements Workload {
  #request: LoadRequest;

  constructor(request: LoadRequest) {
    this.#request = request;
  }

  next(): LoadRequest {
    return this.#request;
  }
}

/** A value of `bytes` printable characters, the same for every PUT (its content does not matter). */
function value(bytes: number, random: () => number): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = alphabet.charCodeAt(Math.floor(random() * alphabet.length));
  return out;
}

export class ItemsMix implements Workload {
  #ops: MixOp[];
  #cumulative: number[];
  #total: number;
  #random: () => number;
  #key: () => number;
  #gets: LoadRequest[];
  #puts: LoadRequest[];
  #echo: LoadRequest;

  constructor(options: MixOptions) {
    this.#random = seededRandom(options.seed);
    this.#ops = options.weights.map(([op]) => op);
    let running = 0;
    this.#cumulative = options.weights.map(([, w]) => (running += w));
    this.#total = running;
    const keys = options.keys;
    this.#key =
      options.distribution.kind === 'zipf'
        ? zipfSampler(keys, options.distribution.exponent, this.#random)
        : () => Math.floor(this.#random() * keys);
    const body = value(options.valueBytes, this.#random);
    const path = (i: number) => `${options.basePath}/items/key-${i}`;
    this.#gets = Array.from({ length: keys }, (_, i) => ({
      method: 'GET',
      path: path(i),
      headers: undefined,
      body: undefined,
    }));
    const putHeaders = { 'content-type': 'text/plain' };
    this.#puts = Array.from({ length: keys }, (_, i) => ({ method: 'PUT', path: path(i), headers: putHeaders, body }));
    this.#echo = {
      method: 'POST',
      path: `${options.basePath}/echo`,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ message: body.toString('latin1') })),
    };
  }

  next(): LoadRequest {
    const pick = this.#random() * this.#total;
    let i = 0;
    while (pick >= (this.#cumulative[i] as number)) i++;
    const op = this.#ops[i];
    if (op === 'echo') return this.#echo;
    const key = this.#key();
    return (op === 'put' ? this.#puts[key] : this.#gets[key]) as LoadRequest;
  }
}
