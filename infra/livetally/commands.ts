/**
 * The `livetally` commands: each runs the script that does the work (the same one its
 * npm script runs), so the command line adds names and help, never logic of its own.
 */

/** How a command runs: a bash script or a TypeScript entry point (through tsx), from the repository root. */
export interface Invocation {
  kind: 'bash' | 'tsx';
  /** Relative to the repository root. */
  script: string;
  args: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** Its help; null: the script prints its own for --help. */
  help: string | null;
  /** The invocation for the command's arguments, or a usage problem. */
  invoke(args: readonly string[]): Invocation | { problem: string };
}

const STACK_ACTIONS = ['up', 'down', 'status'] as const;

const tsx = (script: string) => (args: readonly string[]) => ({ kind: 'tsx' as const, script, args: [...args] });

export const COMMANDS: readonly Command[] = [
  {
    name: 'stack',
    summary: 'start, stop or check the local Kafka, Redis and ClickHouse stand-in',
    help: `usage: livetally stack up|down|status

  up       start Kafka (KRaft), Redis and the ClickHouse stand-in under .data/ (or
           LT_DATA_DIR) and create the topics; idempotent; writes .data/stack.env
  down     stop them, data kept
  status   up/down of each service (exit 1 if any is down)

Runs infra/stack.sh, which documents its variables (KAFKA_BROKERS, REDIS_URL,
CLICKHOUSE_URL, LT_*_PORT, LT_KAFKA_BROKERS=3 …): bash infra/stack.sh --help.
Deleting all data is deliberately not here: bash infra/stack.sh reset.
`,
    invoke(args) {
      const [action, ...rest] = args;
      if (!STACK_ACTIONS.includes(action as (typeof STACK_ACTIONS)[number]) || rest.length > 0)
        return { problem: `expected one of ${STACK_ACTIONS.join(', ')}, got ${JSON.stringify(args.join(' '))}` };
      return { kind: 'bash', script: 'infra/stack.sh', args: [action!] };
    },
  },
  {
    name: 'start',
    summary: 'bring up the stack, two ingest workers, the gateway and the live simulator',
    help: `usage: livetally start

Sets up what is missing, brings up the local stack, then runs two ingest workers, the
gateway (access control on) and the live simulator in the background, and prints the
dashboard URL with a reader and an engineer token. Logs and pids under .data/.
  LT_DETACH=1          return right after start-up
  LT_SIM_RATE=300      the simulator's events per second
  GATEWAY_PORT=8080    GATEWAY_AUTH=off runs the gateway open (local demo only)
Runs infra/start.sh (npm start). \`livetally stop\` stops the pipeline.
`,
    invoke: (args) =>
      args.length > 0
        ? { problem: `takes no arguments, got ${JSON.stringify(args.join(' '))}` }
        : { kind: 'bash', script: 'infra/start.sh', args: [] },
  },
  {
    name: 'stop',
    summary: 'stop what `livetally start` runs (the stack keeps running)',
    help: `usage: livetally stop

Stops the simulator, the gateway and the ingest workers that \`livetally start\` runs,
waiting for each to finish its work in flight. The stack keeps running
(\`livetally stack down\` stops it). Runs infra/start.sh stop (npm run stop).
`,
    invoke: (args) =>
      args.length > 0
        ? { problem: `takes no arguments, got ${JSON.stringify(args.join(' '))}` }
        : { kind: 'bash', script: 'infra/start.sh', args: ['stop'] },
  },
  {
    name: 'rebuild',
    summary: 'restore all live state in Redis from ClickHouse (after Redis lost its data)',
    help: null,
    invoke: tsx('services/ingest/src/cli/rebuild.ts'),
  },
  {
    name: 'reconcile',
    summary: "compare every scope's totals in Redis with ClickHouse",
    help: null,
    invoke: tsx('services/ingest/src/cli/reconcile.ts'),
  },
  {
    name: 'token',
    summary: 'mint or verify a gateway access token',
    help: null,
    invoke: tsx('services/gateway/src/cli/token.ts'),
  },
  {
    name: 'simulate',
    summary: 'produce simulated livestream events into Kafka',
    // The simulator answers --help itself (its flags and their defaults).
    help: null,
    invoke: tsx('services/simulator/src/main.ts'),
  },
  {
    name: 'dlq',
    summary: 'list dead letters by reason and time, replay them once their cause is fixed',
    help: null,
    invoke: tsx('services/ingest/src/cli/dlq.ts'),
  },
];

export const USAGE = `usage: livetally <command> [arguments]   (livetally <command> --help for each)

${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Every command takes the same environment as the service it acts on; against the local
stack, first: set -a && source .data/stack.env && set +a
Exit codes: 0 done, 1 the command's check failed, 2 bad usage or configuration, 3 could
not run (each command's help says more).
`;

export type Route =
  { kind: 'usage'; text: string; exitCode: 0 | 2; problem?: string } | { kind: 'run'; invocation: Invocation };

const HELP_FLAGS = new Set(['--help', '-h']);

/** What `livetally <argv>` does: print help or a usage problem, or run a script. */
export function route(argv: readonly string[]): Route {
  const [name, ...args] = argv;
  if (name === undefined || HELP_FLAGS.has(name)) return { kind: 'usage', text: USAGE, exitCode: name ? 0 : 2 };
  if (name === 'help') {
    if (args[0] === undefined) return { kind: 'usage', text: USAGE, exitCode: 0 };
    return route([args[0], '--help']);
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return { kind: 'usage', text: USAGE, exitCode: 2, problem: `unknown command ${JSON.stringify(name)}` };
  if (command.help !== null && args.some((a) => HELP_FLAGS.has(a)))
    return { kind: 'usage', text: command.help, exitCode: 0 };
  const invocation = command.invoke(args);
  if ('problem' in invocation)
    return {
      kind: 'usage',
      text: command.help ?? USAGE,
      exitCode: 2,
      problem: `livetally ${name}: ${invocation.problem}`,
    };
  return { kind: 'run', invocation };
}
