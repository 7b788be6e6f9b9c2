import { CAMPAIGN_CITIES } from './campaign-profile';
import { DEFAULT_CAMPAIGN_MINUTES, DEFAULT_CAMPAIGN_SCALE, FLAGS, MODES } from './config';

/** What `npm run simulate -- --help` prints; defaults come from the flags' own declarations. */
export const SIMULATOR_USAGE = `usage: npm run simulate -- [--mode ${MODES.join('|')}] [options]

  --mode live           a Shenzhen-like national market in wall-clock time (default)
    --rate N            events per second (default ${FLAGS.rate.default})
    --duration S        seconds to run; 0 runs until Ctrl-C (default ${FLAGS.duration.default})
  --mode seeded         a fixed data set, sent as fast as Kafka takes it; prints its exact totals
    --count N           events (default ${FLAGS.count.default})
    --malformed-every N, --duplicate-every N, --late-every N
                        every Nth event invalid, a platform resend, or late (0: none)
    --hosts N           distinct hosts (default ${FLAGS.hosts.default})
  --mode campaign       a past campaign window, fast-forwarded
    --from DATE         start: a date (Asia/Shanghai midnight) or an ISO time with a zone (default ${FLAGS.from.default})
    --to DATE           end, exclusive (default ${FLAGS.to.default})
    --minutes M         play the window in M minutes (default ${DEFAULT_CAMPAIGN_MINUTES}) …
    --speed X           … or at X event-time ms per wall-clock ms
    --plan-only         print the plan's exact totals (sales, views, sessions, hosts per city) and exit
  live and campaign:
    --scale S           fraction of the real market (campaign default ${DEFAULT_CAMPAIGN_SCALE}; live derives it from --rate)
    --curve C           daily shape: shanghai (campaign default) or flat (live default)
    --cities A,B        only these cities (${CAMPAIGN_CITIES.map((c) => c.name).join(', ')})
  every mode:
    --seed N            makes the run repeatable (default ${FLAGS.seed.default})
  --help, -h            this text

Environment: KAFKA_BROKERS (127.0.0.1:9092), KAFKA_TOPIC (livetally.events), LOG_LEVEL (info).
Modes, market and scale: docs/simulator.md.
`;
