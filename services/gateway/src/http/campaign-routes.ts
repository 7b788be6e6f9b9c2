import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CampaignError, type Campaign } from '@livetally/campaigns';
import type { Granularity, HistorySubject, RankDimension, RankMeasure } from '@livetally/history';
import { GatewayError } from '../errors';
import { computePace } from './pace';
import { checkRange, iso, parseInstant } from './params';
import {
  campaignIdParams,
  campaignInputSchema,
  campaignSchema,
  errorResponses,
  granularitySchema,
  instantSchema,
  measuresSchema,
  ranked,
  seriesAnswer,
  topAnswer,
  topQuery,
} from './schemas';
import type { CampaignApi, HistoryReader } from './types';
import { callStore } from './unavailable';

export interface CampaignRouteDeps {
  campaigns?: CampaignApi;
  history?: HistoryReader;
  now(): number;
  /** Lists only campaigns whose scope (campaign:<id>) the request may see; absent = all. */
  canSee?(request: FastifyRequest, scope: string): boolean;
}

type IdParams = { Params: { id: string } };
const tags = ['campaigns'];
const pass = () => () => true; // bodies are validated by the campaign service, which reports every field at once
const targetPace = {
  type: 'object',
  properties: {
    measure: { type: 'string' },
    target: { type: 'integer' },
    actual: { type: 'integer' },
    doneShare: { type: 'number' },
    expectedByNow: { type: 'integer' },
    status: {
      type: 'string',
      enum: ['not_started', 'ahead', 'behind', 'met', 'missed'],
      description: 'ahead: doneShare ≥ elapsedShare',
    },
  },
};
const paceSchema = {
  type: 'object',
  properties: {
    asOf: { type: 'integer' },
    elapsedShare: { type: 'number' },
    targets: {
      type: 'object',
      properties: { gmvFen: targetPace, views: targetPace, sessions: targetPace, hosts: targetPace },
    },
  },
};
const windowQuery = {
  from: instantSchema('Optional start within the window (default: the campaign start)'),
  to: instantSchema('Optional end within the window (default: the campaign end)'),
};
/** What a campaign's figures cover: the campaign and the (narrowed) window. */
const windowEcho = { id: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } };

/** /v1/campaigns: definitions through CampaignService, figures from the rollups over each campaign's window and filters. */
export function registerCampaignRoutes(app: FastifyInstance, deps: CampaignRouteDeps): void {
  const service = (): CampaignApi => deps.campaigns ?? unconfigured('campaigns are');
  const history = (): HistoryReader => deps.history ?? unconfigured('history is');
  const call = <T>(request: FastifyRequest, fn: () => Promise<T>) =>
    callStore(request, 'campaign store', () => fn().catch(mapCampaignError));
  const load = (request: FastifyRequest<IdParams>) => call(request, () => service().get(request.params.id));

  app.get(
    '/v1/campaigns',
    {
      schema: {
        summary: 'List campaigns',
        tags,
        response: {
          200: { type: 'object', properties: { campaigns: { type: 'array', items: campaignSchema } } },
          ...errorResponses('UNAVAILABLE'),
        },
      },
    },
    async (request) => {
      const campaigns = await call(request, () => service().list());
      return {
        campaigns: deps.canSee ? campaigns.filter((c) => deps.canSee!(request, `campaign:${c.id}`)) : campaigns,
      };
    },
  );

  app.post(
    '/v1/campaigns',
    {
      validatorCompiler: pass,
      schema: {
        summary: 'Create a campaign',
        tags,
        body: campaignInputSchema,
        response: {
          201: campaignSchema,
          ...errorResponses('BAD_REQUEST', 'INVALID_CAMPAIGN', 'CONFLICT', 'UNAVAILABLE'),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await call(request, () => service().create(request.body))),
  );

  app.get<IdParams>(
    '/v1/campaigns/:id',
    {
      schema: {
        summary: 'A campaign with its totals so far and its pace against each target',
        tags,
        params: campaignIdParams,
        response: {
          200: { type: 'object', properties: { campaign: campaignSchema, history: measuresSchema, pace: paceSchema } },
          ...errorResponses('NOT_FOUND', 'UNAVAILABLE'),
        },
      },
    },
    async (request) => {
      const campaign = await load(request);
      const totals = await callStore(request, 'history', () =>
        history().totals(subjectOf(campaign), campaign.startsAt, campaign.endsAt),
      );
      return { campaign, history: totals, pace: computePace(campaign, totals, deps.now()) };
    },
  );

  app.put<IdParams>(
    '/v1/campaigns/:id',
    {
      validatorCompiler: pass,
      schema: {
        summary: 'Replace a campaign (new version)',
        tags,
        params: campaignIdParams,
        body: campaignInputSchema,
        response: {
          200: campaignSchema,
          ...errorResponses('BAD_REQUEST', 'INVALID_CAMPAIGN', 'NOT_FOUND', 'UNAVAILABLE'),
        },
      },
    },
    async (request) => call(request, () => service().replace(request.params.id, request.body)),
  );

  app.post<IdParams>(
    '/v1/campaigns/:id/end',
    {
      schema: {
        summary: 'End a campaign at the next whole minute',
        tags,
        params: campaignIdParams,
        response: { 200: campaignSchema, ...errorResponses('NOT_FOUND', 'UNAVAILABLE') },
      },
    },
    async (request) => call(request, () => service().end(request.params.id)),
  );

  app.get<IdParams & { Querystring: { granularity: Granularity; from?: string; to?: string } }>(
    '/v1/campaigns/:id/history',
    {
      schema: {
        summary: "A campaign's time series over its window, bucketed in its time zone",
        tags,
        params: campaignIdParams,
        querystring: {
          type: 'object',
          properties: { granularity: { ...granularitySchema, default: 'day' }, ...windowQuery },
        },
        response: {
          200: {
            type: 'object',
            properties: { ...windowEcho, ...seriesAnswer },
          },
          ...errorResponses('BAD_REQUEST', 'INVALID_RANGE', 'NOT_FOUND', 'UNAVAILABLE'),
        },
      },
    },
    async (request) => {
      const campaign = await load(request);
      const { granularity } = request.query;
      const { from, to } = windowOf(campaign, request.query, granularity);
      const buckets = await callStore(request, 'history', () =>
        history().series(subjectOf(campaign), from, to, granularity, campaign.timeZone),
      );
      return { id: campaign.id, from: iso(from), to: iso(to), granularity, tz: campaign.timeZone, buckets };
    },
  );

  app.get<IdParams & { Querystring: { dimension: RankDimension; measure: RankMeasure; limit: number } }>(
    '/v1/campaigns/:id/rankings',
    {
      schema: {
        summary: 'Top-N members of a dimension within a campaign',
        tags,
        params: campaignIdParams,
        querystring: {
          type: 'object',
          required: ['dimension'],
          properties: topQuery,
        },
        response: {
          200: {
            type: 'object',
            properties: { ...windowEcho, ...topAnswer },
          },
          ...errorResponses('BAD_REQUEST', 'NOT_FOUND', 'UNAVAILABLE'),
        },
      },
    },
    async (request) => {
      const campaign = await load(request);
      const { dimension, measure, limit } = request.query;
      const top = await callStore(request, 'history', () =>
        history().top(dimension, measure, campaign.startsAt, campaign.endsAt, limit, subjectOf(campaign)),
      );
      return {
        id: campaign.id,
        dimension,
        measure,
        from: iso(campaign.startsAt),
        to: iso(campaign.endsAt),
        items: ranked(top),
      };
    },
  );
}

export function subjectOf(campaign: Campaign): HistorySubject {
  return { kind: 'filters', ...campaign.filters };
}

/** The campaign window, optionally narrowed by from/to (which must overlap it). */
function windowOf(
  campaign: Campaign,
  query: { from?: string; to?: string },
  granularity: Granularity,
): { from: number; to: number } {
  const from = Math.max(campaign.startsAt, query.from === undefined ? -Infinity : parseInstant('from', query.from));
  const to = Math.min(campaign.endsAt, query.to === undefined ? Infinity : parseInstant('to', query.to));
  if (to <= from)
    throw new GatewayError(
      'INVALID_RANGE',
      `from/to do not overlap the campaign window ${iso(campaign.startsAt)} – ${iso(campaign.endsAt)}`,
    );
  try {
    return checkRange(from, to, granularity);
  } catch (err) {
    throw new GatewayError('INVALID_RANGE', `${(err as Error).message}; narrow it with from/to`);
  }
}

function mapCampaignError(err: unknown): never {
  if (!(err instanceof CampaignError)) throw err;
  if (err.code === 'NOT_FOUND') throw new GatewayError('NOT_FOUND', err.message);
  if (err.code === 'CONFLICT') throw new GatewayError('CONFLICT', err.message);
  throw new GatewayError(
    'INVALID_CAMPAIGN',
    `campaign is invalid: ${err.details.map((d) => d.field).join(', ')}`,
    err.details,
  );
}

function unconfigured(what: string): never {
  throw new GatewayError('UNAVAILABLE', `${what} not configured on this gateway`);
}
