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
export { CampaignStore, campaignKeys, type CampaignKeys, type SaveOutcome } from './store';
export { CampaignService, CampaignError, type Backfill, type CampaignServiceDeps } from './service';
export { createCampaignBackfill, type CampaignBackfillDeps } from './backfill';
export { memoryCampaigns } from './testing';
