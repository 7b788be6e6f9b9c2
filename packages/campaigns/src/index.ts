export {
  CampaignMatcher,
  campaignScope,
  coverageOf,
  matchesCampaign,
  stagingScope,
  type Campaign,
  type CampaignFilters,
  type CampaignTargets,
  type CatalogueCampaign,
} from './campaign';
export { validateCampaignInput, type CampaignInput, type CampaignValidation } from './validate';
export { CampaignStore, type SaveOutcome } from './store';
// The catalogue's Redis key layout belongs to @livetally/live-state; re-exported for the campaign's users.
export { campaignKeys, type CampaignKeys } from '@livetally/live-state';
export { CampaignService, CampaignError, type Backfill, type CampaignServiceDeps } from './service';
export { CampaignBackfills, type CampaignBackfillsDeps } from './backfills';
export { createCampaignBackfill, type CampaignBackfillDeps } from './backfill';
export { memoryCampaigns } from './testing';
