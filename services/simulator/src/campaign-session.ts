import type { LiveEvent } from '@livetally/events';
import { category } from './calibration';
import { SESSION } from './campaign-profile';
import type { SessionPlan } from './campaign-planner';
import { binomial, logUniform } from './dist';
import { Rng } from './rng';

interface OrderEvent {
  ts: number;
  type: 'sale' | 'refund';
  orderId: string;
  sku: string;
  quantity: number;
  amountFen: number;
}

/**
 * Plays one planned session as events in time order: stream_started, views and sales
 * spread evenly at random over the session (some views followed at once by a like event
 * of the same viewer), stream_ended, and refunds that may arrive up to three days after
 * their sale. A session already running at `from` (the start
 * of the played window) joins in progress: its start event is stamped `from` and only
 * the views and sales from then on are played.
 */
export class SessionCursor {
  nextTs: number;
  done = false;
  readonly streamId: string;
  private readonly rng: Rng;
  private readonly viewStart: number;
  private readonly span: number;
  private readonly orders: OrderEvent[] = [];
  private orderIdx = 0;
  private viewsLeft: number;
  private viewPos = 0;
  private viewTs = Infinity;
  private started = false;
  private ended = false;
  /** A like due at the last view's time (its count; 0: none). */
  private likeCount = 0;
  private likeTs = Infinity;

  constructor(
    readonly plan: SessionPlan,
    from: number,
    idPrefix: string,
  ) {
    this.streamId = `${idPrefix}-s${plan.no}`;
    this.rng = new Rng(plan.seed);
    this.viewStart = Math.max(plan.startTs, from);
    this.span = plan.endTs - this.viewStart;
    const full = plan.endTs - plan.startTs;
    this.viewsLeft = this.viewStart === plan.startTs ? plan.views : binomial(this.rng, plan.views, this.span / full);
    const c = category(plan.category);
    const priceFactor = plan.district.profile.priceFactor?.[plan.category] ?? 1;
    for (let k = 1; k <= plan.orders; k++) {
      const ts = plan.startTs + Math.floor(this.rng.next() * full);
      const quantity = this.rng.next() < SESSION.multiItemShare ? this.rng.int(2, 5) : 1;
      const amountFen = quantity * Math.round(logUniform(this.rng, c.minPriceFen, c.maxPriceFen) * priceFactor);
      const sku = `${c.name}-${this.rng.int(1, 400)}`;
      const refundTs =
        this.rng.next() < c.refundRate
          ? ts + Math.round(logUniform(this.rng, SESSION.minRefundDelayMs, SESSION.maxRefundDelayMs))
          : null;
      if (ts < from) continue;
      const orderId = `${this.streamId}-o${k}`;
      this.orders.push({ ts, type: 'sale', orderId, sku, quantity, amountFen });
      if (refundTs !== null) this.orders.push({ ts: refundTs, type: 'refund', orderId, sku, quantity, amountFen });
    }
    this.orders.sort((a, b) => a.ts - b.ts);
    this.advanceView();
    this.nextTs = this.viewStart;
  }

  /** Next view time: the minimum of the remaining uniform view times (order statistics). */
  private advanceView(): void {
    if (this.viewsLeft <= 0) {
      this.viewTs = Infinity;
      return;
    }
    this.viewPos += (1 - this.viewPos) * (1 - this.rng.next() ** (1 / this.viewsLeft));
    this.viewTs = Math.min(this.plan.endTs - 1, this.viewStart + Math.floor(this.viewPos * this.span));
  }

  /** The envelope every event of this session shares (built as one literal: spreads are slow here). */
  private event<T extends LiveEvent['type']>(type: T, eventId: string, ts: number) {
    const p = this.plan;
    return {
      v: 1 as const,
      type,
      eventId,
      platform: p.host.platform,
      streamId: this.streamId,
      hostId: p.host.id,
      ts,
      city: p.city.profile.name,
      district: p.district.profile.name,
      category: p.category,
    };
  }

  /** The event at nextTs; call only while !done. */
  pop(eventId: string): LiveEvent {
    const event = this.take(eventId);
    const order = this.orders[this.orderIdx];
    this.nextTs = Math.min(
      this.likeTs,
      this.viewTs,
      order ? order.ts : Infinity,
      this.ended ? Infinity : this.plan.endTs,
    );
    this.done = this.nextTs === Infinity;
    return event;
  }

  private take(eventId: string): LiveEvent {
    if (this.likeCount > 0) {
      const like = Object.assign(this.event('like', eventId, this.likeTs), { count: this.likeCount });
      this.likeCount = 0;
      this.likeTs = Infinity;
      return like;
    }
    if (!this.started) {
      this.started = true;
      const p = this.plan;
      return Object.assign(this.event('stream_started', eventId, this.viewStart), {
        title: `${p.district.profile.name} ${p.category} live`,
      });
    }
    const order = this.orders[this.orderIdx];
    if (order && order.ts <= this.viewTs && order.ts <= this.nextTs) {
      this.orderIdx++;
      if (order.type === 'refund')
        return Object.assign(this.event('refund', eventId, order.ts), {
          orderId: order.orderId,
          amountFen: order.amountFen,
        });
      return Object.assign(this.event('sale', eventId, order.ts), {
        orderId: order.orderId,
        sku: order.sku,
        quantity: order.quantity,
        amountFen: order.amountFen,
      });
    }
    if (this.viewTs <= this.nextTs) {
      const p = this.plan;
      const event: LiveEvent = {
        v: 1,
        type: 'view',
        eventId,
        platform: p.host.platform,
        streamId: this.streamId,
        hostId: p.host.id,
        ts: this.viewTs,
        city: p.city.profile.name,
        district: p.district.profile.name,
        category: p.category,
        viewerId: `v${this.rng.int(1, 80_000_000)}`,
      };
      this.viewsLeft--;
      if (this.rng.next() < SESSION.likeShare) {
        this.likeTs = this.viewTs;
        this.likeCount = Math.round(logUniform(this.rng, 1, SESSION.maxLikesPerEvent));
      }
      this.advanceView();
      return event;
    }
    this.ended = true;
    return this.event('stream_ended', eventId, this.plan.endTs);
  }
}
