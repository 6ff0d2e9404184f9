/** POST /echo — {"message": "..."} in, the same out. */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../errors.js';
import { withSlot } from '../../middleware.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function echoRoute(api: FastifyInstance): void {
  api.post(
    '/echo',
    { config: { operation: 'Echo' } },
    withSlot(async (request, _reply, slot) => {
      const contentType = request.headers['content-type'] ?? '';
      if (!JSON_TYPE.test(contentType)) {
        throw new HttpError(415, 'SVC_ERR_UNSUPPORTED_MEDIA_TYPE', 'expected an application/json body');
      }
      const body = request.body as Buffer | undefined;
      slot.values.PayloadBytes = body?.length ?? 0;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body?.toString('utf8') ?? '');
      } catch (err) {
        throw new HttpError(400, 'SVC_ERR_MALFORMED_JSON', `malformed JSON body: ${(err as Error).message}`);
      }
      const message = (parsed as { message?: unknown } | null)?.message;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof message !== 'string') {
        throw new HttpError(422, 'SVC_ERR_INVALID_ECHO_BODY', 'expected a JSON object with a string "message"');
      }
      return { message };
    }),
  );
}
