export { CampaignMatcher, matchesCampaign, type Campaign, type CampaignFilters, type CampaignTargets } from './campaign';
export { validateCampaignInput, type CampaignInput, type CampaignValidation } from './validate';
