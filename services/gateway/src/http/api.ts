import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RoleCheck } from './access';
import { registerCampaignRoutes } from './campaign-routes';
import { registerHistoryRoutes } from './history-routes';
import { registerSqlRoutes } from './sql-routes';
import type { CampaignApi, HistoryReader, SqlRunner } from './types';

export interface ApiDeps {
  history?: HistoryReader;
  campaigns?: CampaignApi;
  sql?: SqlRunner;
  authorize?: RoleCheck;
  /** May the request see this scope (campaign listings)? Absent = yes. */
  canSee?(request: FastifyRequest, scope: string): boolean;
  now(): number;
  onSqlQuery?(outcome: string, durationMs: number): void;
}

/** History, campaign and SQL routes; each answers 503 UNAVAILABLE while its dependency is absent. */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  registerHistoryRoutes(app, deps.history);
  registerCampaignRoutes(app, { campaigns: deps.campaigns, history: deps.history, now: deps.now, canSee: deps.canSee });
  registerSqlRoutes(app, { sql: deps.sql, authorize: deps.authorize, onQuery: deps.onSqlQuery });
}
