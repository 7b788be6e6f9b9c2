// The campaign big screen's script, bundled into the page by ../dashboard.ts. It follows
// one scope's live channels over /v1/live and its campaign over the REST API.
import { RANKINGS } from '../figures';
import { ChannelFeed, type DataFrame, type ErrorFrame, type ServerFrame } from '../frames';
import { zoned } from '../time';
import { renderCampaignHeader } from './campaign-header';
import { redrawSeries, renderSeries } from './chart';
import { LiveConnection } from './connection';
import { byId, byTestId, fit } from './dom';
import { forgetGmv } from './hero';
import { setNotice } from './notices';
import { rebuildPace, renderPace } from './pace-panel';
import { buildRankings, renderRanking } from './rankings';
import { resolveScope, type Scope } from './scope';
import { timeZone, view } from './state';
import { refreshStale, setStatus } from './status';
import { renderTotals } from './totals';
import { buildWindows, renderWindows } from './windows';

const NOT_READY_RETRY_MS = 2_000;
const CLOCK_TICK_MS = 1_000;
const SCOPE_REFRESH_MS = 60_000;
const RESIZE_SETTLE_MS = 150;

const params = new URLSearchParams(location.search);
// With GATEWAY_AUTH=on the page is opened as /?campaign=<id>&token=<token>; the token goes with every request.
const token = params.get('token') ?? '';
/** ?campaign=<id> fixes the scope; otherwise the first active campaign is followed. */
const pinned = params.has('campaign') ? (params.get('campaign') ?? '') : null;

const feed = new ChannelFeed(RANKINGS);
const stale = () => refreshStale((role) => feed.isFresh(role));
const liveUrl = `${location.protocol === 'https:' ? 'wss://' : 'ws://'}${location.host}/v1/live${token ? `?token=${encodeURIComponent(token)}` : ''}`;
const connection = new LiveConnection(liveUrl, {
  status: setStatus,
  opened() {
    feed.forgetConnection();
    for (const channel of feed.channels()) connection.send({ type: 'subscribe', channel });
    stale();
    void refreshScope(); // targets may have changed, or a campaign started, while we were away
  },
  frame: onFrame,
  lost() {
    feed.forgetConnection();
    stale();
  },
  refused(reason) {
    setNotice('auth', `连接被拒绝 Closed by the gateway: ${reason} — open the page with a valid ?token=<token>`);
  },
});

function applyScope(next: Scope): void {
  const changed = next.scope !== view.scope || feed.channels().length === 0;
  view.campaign = next.campaign;
  renderCampaignHeader();
  rebuildPace();
  renderPace();
  if (!changed) return;
  for (const channel of feed.setScope(next.scope)) connection.send({ type: 'unsubscribe', channel });
  view.scope = next.scope;
  view.totals = null;
  forgetGmv();
  renderTotals(null);
  renderWindows(null);
  renderSeries(null);
  for (const r of RANKINGS) renderRanking(r.dim, null);
  stale();
  for (const channel of feed.channels()) connection.send({ type: 'subscribe', channel });
}

let resolving: Promise<void> | null = null;
function refreshScope(): Promise<void> {
  resolving ??= resolveScope(pinned, view.campaign, token)
    .then((r) => {
      if (r) applyScope(r);
    })
    .finally(() => {
      resolving = null;
    });
  return resolving;
}

function onFrame(frame: ServerFrame): void {
  if (frame.type === 'snapshot' || frame.type === 'update') showData(frame);
  else if (frame.type === 'error') showError(frame);
}

function showData(frame: DataFrame): void {
  if (!feed.accept(frame)) return;
  if (frame.type === 'snapshot') setNotice(`err:${frame.channel}`, '');
  const role = feed.roleOf(frame.channel);
  if (role === 'totals') renderTotals(frame.data);
  else if (role === 'windows') renderWindows(frame.data);
  else if (role === 'series') renderSeries(frame.data);
  else if (role?.startsWith('rank-')) renderRanking(role.slice('rank-'.length), frame.data);
  if (Number.isFinite(frame.ts)) byId('updated').textContent = zoned(frame.ts!, false, timeZone());
  stale();
}

function showError(frame: ErrorFrame): void {
  const channel = frame.channel;
  if (channel && frame.code === 'NOT_READY') {
    setTimeout(() => {
      if (feed.wants(channel)) connection.send({ type: 'subscribe', channel });
    }, NOT_READY_RETRY_MS);
    return;
  }
  if (channel) setNotice(`err:${channel}`, `${channel}: ${frame.code} ${frame.message}`);
  else console.warn('gateway error', frame);
}

function tickClock(): void {
  byId('clock').textContent = zoned(Date.now(), false, timeZone());
  if (view.campaign) renderPace();
}

buildWindows();
buildRankings();
renderCampaignHeader();
feed.nameChannels(view.scope);
stale();
tickClock();
setInterval(tickClock, CLOCK_TICK_MS);
setInterval(() => {
  if (connection.active) void refreshScope();
}, SCOPE_REFRESH_MS);
let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    fit(byTestId('gmv'));
    document.querySelectorAll<HTMLElement>('.tile .value').forEach(fit);
    redrawSeries();
  }, RESIZE_SETTLE_MS);
});
void refreshScope().finally(() => {
  // Nothing resolved (gateway down): start with all scopes; re-resolved on connect.
  if (!feed.channels().length) applyScope({ scope: view.scope, campaign: view.campaign });
  connection.connect();
});
