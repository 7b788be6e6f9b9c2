import { LIMITS, type LiveEvent } from '@livetally/events';
import { category } from './calibration';
import { SESSION } from './campaign-profile';
import { meanOrderFen, type SessionPiece, type SessionPlan } from './campaign-planner';
import { largestRemainder, logUniform, logUniformMean, randomRound } from './dist';
import { MinHeap } from './heap';
import { Rng } from './rng';

interface Refund {
  ts: number;
  orderId: string;
  amountFen: number;
}

/** Likes per view: a share of views followed by a batch of taps (SESSION.likeShare, up to maxLikesPerEvent). */
const LIKES_PER_VIEW = SESSION.likeShare * logUniformMean(1, SESSION.maxLikesPerEvent);

/**
 * Plays one planned session as events in time order, as a platform reports it:
 * stream_started, then every SESSION.viewTickMs one `view` event counting the views
 * of that interval and naming one viewer seen in it (and one `like` event with its taps), every order as its own
 * `sale`, stream_ended, and refunds up to three days after their sale. Each day's
 * piece of the session carries exact views and sales (the plan's): the interval
 * counts split its views by cumulative flooring, and its sales are split over orders
 * (about one per mean order value of the category) in whole fen, so the events sum
 * to the plan. A session already running at `from` (the start of the played window)
 * joins in progress without a start event (it started, and counts, before the
 * window): only its intervals and orders from then on are played.
 */
export class SessionCursor {
  nextTs: number;
  done = false;
  readonly streamId: string;
  private readonly rng: Rng;
  private readonly from: number;
  private pieceIdx = -1;
  private piece: SessionPiece | null = null;
  /** Interval boundaries of the current piece and the views counted up to each. */
  private tick = 0;
  private ticks = 0;
  private orderTs = new Float64Array(0);
  private orderFen = new Float64Array(0);
  private orderIdx = 0;
  private orderNo = 0;
  private viewTs = Infinity;
  private likeCount = 0;
  private likeTs = Infinity;
  private started: boolean;
  private ended = false;
  private readonly refunds = new MinHeap<Refund>((a, b) => a.ts < b.ts || (a.ts === b.ts && a.orderId < b.orderId));

  constructor(
    readonly plan: SessionPlan,
    from: number,
    idPrefix: string,
  ) {
    this.streamId = `${idPrefix}-${plan.key}`;
    this.rng = new Rng(plan.seed);
    this.from = from;
    this.started = plan.startTs < from;
    this.nextPiece();
    this.nextTs = this.started ? this.earliest() : plan.startTs;
  }

  /** Moves to the next piece the plan has (pieces of later days are added as those days are planned). */
  private nextPiece(): void {
    this.piece = this.plan.pieces[++this.pieceIdx] ?? null;
    this.orderIdx = 0;
    this.orderTs = new Float64Array(0);
    this.orderFen = new Float64Array(0);
    this.viewTs = Infinity;
    const piece = this.piece;
    if (!piece) return;
    this.tick = 0;
    this.ticks = Math.ceil((piece.to - piece.from) / SESSION.viewTickMs);
    this.planOrders(piece);
    this.skipBefore(this.from);
  }

  /** The piece's sales as whole-fen orders at random times within it, each at least 1 fen. */
  private planOrders(piece: SessionPiece): void {
    const count = Math.min(
      piece.salesFen,
      Math.max(1, randomRound(this.rng, piece.salesFen / meanOrderFen(this.plan))),
    );
    if (piece.salesFen <= 0) return;
    const c = category(this.plan.category);
    const weights = Array.from({ length: count }, () => logUniform(this.rng, c.minPriceFen, c.maxPriceFen));
    const amounts = largestRemainder(piece.salesFen - count, weights);
    const times = Array.from(
      { length: count },
      () => piece.from + Math.floor(this.rng.next() * (piece.to - piece.from)),
    );
    times.sort((a, b) => a - b);
    this.orderTs = Float64Array.from(times);
    this.orderFen = Float64Array.from(amounts, (a) => a + 1);
  }

  private skipBefore(ts: number): void {
    while (this.orderIdx < this.orderTs.length && this.orderTs[this.orderIdx]! < ts) this.orderIdx++;
    for (; this.tick < this.ticks; this.tick++) if (this.tickTs(this.tick) >= ts) break;
    this.viewTs = this.tick < this.ticks ? this.tickTs(this.tick) : Infinity;
  }

  private tickTs(k: number): number {
    return this.piece!.from + k * SESSION.viewTickMs;
  }

  /** Views counted in interval k: the piece's views split in proportion to time, by cumulative flooring. */
  private tickViews(k: number): number {
    const p = this.piece!;
    const span = p.to - p.from;
    const upTo = (i: number) => Math.floor((p.views * Math.min(span, i * SESSION.viewTickMs)) / span);
    return upTo(k + 1) - upTo(k);
  }

  private earliest(): number {
    const refund = this.refunds.peek();
    const order = this.orderIdx < this.orderTs.length ? this.orderTs[this.orderIdx]! : Infinity;
    const p = this.piece;
    // The next day's piece begins where this one ends (midnight).
    const pieceEnd = !this.ended && p && p.to < this.plan.endTs ? p.to : Infinity;
    return Math.min(
      this.likeTs,
      this.viewTs,
      order,
      pieceEnd,
      refund ? refund.ts : Infinity,
      this.ended ? Infinity : this.plan.endTs,
    );
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
    for (;;) {
      const event = this.take(eventId);
      this.nextTs = this.earliest();
      this.done = this.nextTs === Infinity;
      if (event) return event;
    }
  }

  /** The event at nextTs, or null when the cursor only moved on (an empty interval, the next piece). */
  private take(eventId: string): LiveEvent | null {
    const ts = this.nextTs;
    const p = this.plan;
    if (!this.started) {
      this.started = true;
      return Object.assign(this.event('stream_started', eventId, p.startTs), {
        title: `${p.district.profile.name} ${p.category} live`,
      });
    }
    if (this.likeTs === ts) {
      const like = Object.assign(this.event('like', eventId, ts), { count: this.likeCount });
      this.likeTs = Infinity;
      return like;
    }
    const refund = this.refunds.peek();
    if (refund && refund.ts === ts) {
      this.refunds.pop();
      return Object.assign(this.event('refund', eventId, ts), { orderId: refund.orderId, amountFen: refund.amountFen });
    }
    if (this.orderIdx < this.orderTs.length && this.orderTs[this.orderIdx] === ts) return this.sale(eventId);
    if (this.viewTs === ts) return this.view(eventId);
    if (!this.ended && this.piece && this.piece.to === ts && ts < p.endTs) {
      this.nextPiece();
      return null;
    }
    this.ended = true;
    return this.event('stream_ended', eventId, p.endTs);
  }

  private sale(eventId: string): LiveEvent {
    const c = category(this.plan.category);
    const ts = this.orderTs[this.orderIdx]!;
    const amountFen = this.orderFen[this.orderIdx++]!;
    const orderId = `${this.streamId}-o${++this.orderNo}`;
    const quantity = this.rng.next() < SESSION.multiItemShare ? this.rng.int(2, 5) : 1;
    if (this.rng.next() < c.refundRate)
      this.refunds.push({
        ts: ts + Math.round(logUniform(this.rng, SESSION.minRefundDelayMs, SESSION.maxRefundDelayMs)),
        orderId,
        amountFen,
      });
    return Object.assign(this.event('sale', eventId, ts), {
      orderId,
      sku: `${c.name}-${this.rng.int(1, 400)}`,
      quantity,
      amountFen,
    });
  }

  /** The interval's view count (intervals that counted none send nothing), and its likes. */
  private view(eventId: string): LiveEvent | null {
    const ts = this.viewTs;
    const count = this.tickViews(this.tick);
    this.tick++;
    this.viewTs = this.tick < this.ticks ? this.tickTs(this.tick) : Infinity;
    if (count === 0) return null;
    // One event carries at most what the validator takes; a minute of a real stream stays far below.
    const likes = Math.min(LIMITS.maxLikeCount, randomRound(this.rng, count * LIKES_PER_VIEW));
    if (likes > 0) {
      this.likeCount = likes;
      this.likeTs = ts;
    }
    // One viewer seen in the interval is named (the unique-viewer estimate counts named viewers only: a lower bound here).
    return Object.assign(this.event('view', eventId, ts), { viewerId: `v${this.rng.int(1, 80_000_000)}`, count });
  }
}
