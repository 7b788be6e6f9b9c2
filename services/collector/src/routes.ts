import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eventJsonSchema } from '@livetally/events';
import type { ApiKeyring } from './api-keys';
import { classifyBatch, foreignPlatformIndexes, type EventResult } from './batch';
import { extractEvents } from './body';
import { CollectorError, errorBody, retryAfterSeconds } from './errors';
import { RecordsTooLargeError, SinkUnavailableError, type EventSink } from './kafka-sink';
import type { CollectorMetrics } from './metrics';
import type { CollectorLimits } from './app';
import type { PlatformLimiter } from './platform-limit';
import {
  EVENTS_SCHEMA,
  EVENT_JSON_SCHEMA_SCHEMA,
  EVENT_SCHEMA_MEDIA_TYPE,
  EVENT_SCHEMA_PATH,
  HEALTHZ_SCHEMA,
  READYZ_SCHEMA,
} from './route-schemas';

export interface RouteDeps {
  sink: EventSink;
  keys: ApiKeyring;
  limiter: PlatformLimiter;
  limits: CollectorLimits;
  isReady(): boolean;
  metrics: CollectorMetrics;
  now(): number;
}

/** The answer to POST /v1/events (200 all accepted or duplicate, 207 when any was rejected). */
export interface IngestResponse {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: EventResult[];
}

// At most this many offending indexes are listed in a 403, so the answer stays small.
const MAX_LISTED_INDEXES = 50;

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  // The authenticated platform of a request; a WeakMap keeps fastify's request type untouched.
  const platforms = new WeakMap<FastifyRequest, string>();

  app.post('/v1/events', {
    schema: EVENTS_SCHEMA,
    // onRequest runs before the body is read: an unauthenticated caller never makes us inflate or parse anything.
    onRequest: async (request) => {
      const key = presentedKey(request);
      if (key === undefined)
        throw new CollectorError(
          'UNAUTHORIZED',
          'No API key was sent (Authorization: Bearer <key>, or X-API-Key: <key>).',
        );
      const platform = deps.keys.identify(key);
      if (platform === undefined) throw new CollectorError('UNAUTHORIZED', 'The API key is not valid.');
      platforms.set(request, platform);
    },
    handler: async (request, reply): Promise<IngestResponse> => {
      const platform = platforms.get(request)!;
      // No body at all (no Content-Type) reaches the handler unparsed.
      if (request.body === undefined) throw new CollectorError('UNSUPPORTED_MEDIA_TYPE');
      const events = extractEvents(request.body, deps.limits.maxBatchEvents);

      const foreign = foreignPlatformIndexes(events, platform);
      if (foreign.length > 0) {
        deps.metrics.onRefused(platform, 'FORBIDDEN_PLATFORM');
        throw new CollectorError(
          'FORBIDDEN_PLATFORM',
          `${foreign.length} event(s) name a platform other than ${platform}; nothing in this request was stored.`,
          {
            details: { platform, indexes: foreign.slice(0, MAX_LISTED_INDEXES) },
          },
        );
      }
      const allowed = await deps.limiter.take(platform, events.length);
      if (!allowed.ok) {
        deps.metrics.onRefused(platform, 'RATE_LIMITED');
        throw new CollectorError('RATE_LIMITED', undefined, {
          retryAfterSeconds: retryAfterSeconds(allowed.retryAfterMs),
        });
      }

      const batch = classifyBatch(events, deps.now());
      if (batch.messages.length > 0) {
        try {
          await deps.sink.send(batch.messages);
        } catch (err) {
          if (err instanceof RecordsTooLargeError) {
            deps.metrics.onRefused(platform, 'TOO_LARGE_FOR_KAFKA');
            throw new CollectorError('TOO_LARGE_FOR_KAFKA', undefined, {
              details: { largestStream: err.largestStream },
            });
          }
          if (!(err instanceof SinkUnavailableError)) throw err;
          deps.metrics.onRefused(platform, 'KAFKA_UNAVAILABLE');
          request.log.warn(
            { platform, events: batch.messages.length, reason: err.message },
            'events not acknowledged by Kafka; answering 503',
          );
          throw new CollectorError('KAFKA_UNAVAILABLE', undefined, {
            retryAfterSeconds: retryAfterSeconds(err.retryAfterMs),
          });
        }
      }
      deps.metrics.onEvents(platform, batch.counts, batch.reasons);
      reply.code(batch.counts.rejected > 0 ? 207 : 200);
      return { ...batch.counts, results: batch.results };
    },
  });

  // Sent as text: fastify's serializer would keep only what the route's response schema lists.
  const eventSchemaText = JSON.stringify(eventJsonSchema());
  app.get(EVENT_SCHEMA_PATH, { schema: EVENT_JSON_SCHEMA_SCHEMA }, async (_request, reply) =>
    reply.type(`${EVENT_SCHEMA_MEDIA_TYPE}; charset=utf-8`).send(eventSchemaText),
  );

  app.get('/healthz', { schema: HEALTHZ_SCHEMA }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: READYZ_SCHEMA }, async (_request, reply) =>
    deps.isReady() ? { status: 'ready' } : reply.code(503).header('retry-after', '1').send(errorBody('NOT_READY')),
  );
}

/** `Authorization: Bearer <key>` (preferred) or `X-API-Key: <key>`. */
function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1];
  }
  const header = request.headers['x-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  return key?.trim() || undefined;
}
