/** GET/PUT /items/:key — the item store, in memory or forwarded downstream. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../../errors.js';
import { type HandlerSlot, withSlot } from '../../middleware.js';
import { checkKey, type ItemStore, type StoreContext } from '../../store/store.js';

type ItemRequest = FastifyRequest<{ Params: { key: string } }>;

/**
 * What the store sees of the request. A class, not an object literal with a getter: V8 builds
 * such literals slowly, and this one is built on every item request.
 */
class RequestStoreContext implements StoreContext {
  readonly metrics: StoreContext['metrics'];
  readonly requestId: string;
  #request: FastifyRequest;

  constructor(request: FastifyRequest, slot: HandlerSlot) {
    this.#request = request;
    this.metrics = slot.values;
    this.requestId = request.id;
  }

  /** Created only when a store asks (the memory store never does). */
  get signal(): AbortSignal {
    return this.#request.telemetry.signal;
  }
}

const storeContext = (request: FastifyRequest, slot: HandlerSlot): StoreContext =>
  new RequestStoreContext(request, slot);

export function itemRoutes(api: FastifyInstance, store: ItemStore): void {
  api.get(
    '/items/:key',
    { config: { operation: 'GetItem' } },
    withSlot(async (request: ItemRequest, reply, slot) => {
      const { key } = request.params;
      checkKey(key);
      const value = await store.get(key, storeContext(request, slot));
      slot.values.Found = value !== undefined;
      if (value === undefined)
        throw new HttpError(404, 'SVC_ERR_ITEM_NOT_FOUND', `no item with key ${JSON.stringify(key)}`);
      slot.values.PayloadBytes = Buffer.byteLength(value);
      reply.type('text/plain; charset=utf-8');
      return value;
    }),
  );

  api.put(
    '/items/:key',
    { config: { operation: 'SetItem' } },
    withSlot(async (request: ItemRequest, reply, slot) => {
      const { key } = request.params;
      checkKey(key);
      const body = request.body as Buffer | undefined;
      slot.values.PayloadBytes = body?.length ?? 0;
      try {
        await store.set(key, body?.toString('utf8') ?? '', storeContext(request, slot));
      } catch (err) {
        // The status alone would say `Internal`; a full store is its own kind on dashboards.
        if (err instanceof HttpError && err.code === 'SVC_ERR_STORE_FULL')
          request.telemetry.record.values.ErrorKind = 'StoreFull';
        throw err;
      }
      reply.code(204);
      return '';
    }),
  );
}
