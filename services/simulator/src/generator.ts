import type { LiveEvent } from '@livetally/events';
import { CATEGORIES, CITY, DISTRICTS, PLATFORMS, type CategoryProfile } from './profile';
import { Rng, zipfWeights } from './rng';

interface Host {
  id: string;
  district: string;
  platform: string;
  category: CategoryProfile;
  popularity: number;
}

interface Sale {
  orderId: string;
  amountFen: number;
  refunded: boolean;
}

interface Stream {
  id: string;
  host: Host;
  sales: Sale[];
}

export interface GeneratorOptions {
  seed: number;
  hosts?: number;
  /** Streams live at once the generator steers towards. */
  liveStreams?: number;
  /** Event time of the next event. */
  clock: () => number;
}

const CATEGORY_BY_NAME = new Map(CATEGORIES.map((c) => [c.name, c]));

/** Deterministic stream of realistic events: the same seed yields the same events. */
export class EventGenerator {
  private readonly rng: Rng;
  private readonly hosts: Host[];
  private readonly live: Stream[] = [];
  private readonly targetLive: number;
  private seq = 0;

  constructor(private readonly options: GeneratorOptions) {
    this.rng = new Rng(options.seed);
    const weights = zipfWeights(options.hosts ?? 2_000);
    this.hosts = weights.map((popularity, i) => this.makeHost(i, popularity));
    this.targetLive = options.liveStreams ?? Math.max(4, Math.min(300, Math.floor(this.hosts.length / 8)));
  }

  private makeHost(i: number, popularity: number): Host {
    const district = this.rng.weighted(DISTRICTS.map((d) => ({ value: d, weight: d.weight })));
    const favoured = this.rng.next() < 0.6 ? CATEGORY_BY_NAME.get(this.rng.pick(district.strengths)) : undefined;
    const category = favoured ?? this.rng.weighted(CATEGORIES.map((c) => ({ value: c, weight: c.weight })));
    return { id: `h-${i + 1}`, district: district.name, platform: this.rng.weighted(PLATFORMS), category, popularity };
  }

  next(): LiveEvent {
    const r = this.rng.next();
    if (this.live.length === 0 || (this.live.length < this.targetLive && r < 0.02)) return this.startStream();
    // Ending in proportion to how many are live steers the count towards the target.
    if (this.live.length > 1 && r < 0.02 + (0.02 * this.live.length) / this.targetLive) return this.endStream();
    const stream = this.rng.weighted(this.live.map((s) => ({ value: s, weight: s.host.popularity })));
    const action = this.rng.next();
    if (action < 0.74) return this.view(stream);
    if (action < 0.82) return this.like(stream);
    if (action < 0.993) return this.sale(stream);
    return this.refund(stream) ?? this.view(stream);
  }

  private base(stream: Stream, type: LiveEvent['type']) {
    this.seq += 1;
    const h = stream.host;
    return {
      v: 1 as const,
      type,
      eventId: `e${this.options.seed}-${this.seq}`,
      platform: h.platform,
      streamId: stream.id,
      hostId: h.id,
      ts: this.options.clock(),
      city: CITY,
      district: h.district,
      category: h.category.name,
    };
  }

  private startStream(): LiveEvent {
    const host = this.rng.weighted(this.hosts.map((h) => ({ value: h, weight: h.popularity })));
    const stream: Stream = { id: `s${this.options.seed}-${this.seq + 1}`, host, sales: [] };
    this.live.push(stream);
    return {
      ...this.base(stream, 'stream_started'),
      type: 'stream_started',
      title: `${host.district} ${host.category.name} live`,
    };
  }

  private endStream(): LiveEvent {
    const [stream] = this.live.splice(this.rng.int(0, this.live.length - 1), 1);
    return { ...this.base(stream!, 'stream_ended'), type: 'stream_ended' };
  }

  private view(stream: Stream): LiveEvent {
    return { ...this.base(stream, 'view'), type: 'view', viewerId: `v${this.rng.int(1, 5_000_000)}` };
  }

  /** Most like events are one tap; some platforms batch a viewer's taps into one. */
  private like(stream: Stream): LiveEvent {
    const count = this.rng.next() < 0.7 ? 1 : this.rng.int(2, 50);
    return { ...this.base(stream, 'like'), type: 'like', count };
  }

  private sale(stream: Stream): LiveEvent {
    const c = stream.host.category;
    const quantity = this.rng.next() < 0.85 ? 1 : this.rng.int(2, 5);
    const amountFen = quantity * this.rng.int(c.minPriceFen, c.maxPriceFen);
    const event = {
      ...this.base(stream, 'sale'),
      type: 'sale' as const,
      orderId: `o${this.options.seed}-${this.seq + 1}`,
      sku: `${c.name}-${this.rng.int(1, 400)}`,
      quantity,
      amountFen,
    };
    event.orderId = `o${event.eventId.slice(1)}`;
    stream.sales.push({ orderId: event.orderId, amountFen, refunded: false });
    if (stream.sales.length > 200) stream.sales.shift();
    return event;
  }

  private refund(stream: Stream): LiveEvent | null {
    const candidates = stream.sales.filter((s) => !s.refunded && this.rng.next() < stream.host.category.refundRate * 4);
    const sale = candidates[0];
    if (!sale) return null;
    sale.refunded = true;
    return { ...this.base(stream, 'refund'), type: 'refund', orderId: sale.orderId, amountFen: sale.amountFen };
  }
}
