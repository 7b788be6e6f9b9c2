export { CampaignMatcher, matchesCampaign, type Campaign, type CampaignFilters, type CampaignTargets } from './campaign';
export { validateCampaignInput, type CampaignInput, type CampaignValidation } from './validate';
export { CampaignStore, campaignKeys, type CampaignKeys } from './store';
export { CampaignService, CampaignError, type Backfill, type CampaignServiceDeps } from './service';
export { createCampaignBackfill, type CampaignBackfillDeps } from './backfill';
