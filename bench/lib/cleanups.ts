/**
 * The bench's clean-up steps (BenchContext.onCleanup): each runs once, whether a scenario
 * runs it, the run's end runs them all, or Ctrl-C does. Whoever comes second waits for a
 * step already under way instead of skipping it, so that the bench never closes its
 * clients or exits while a scenario's clean-up still stops children or deletes data.
 */
interface Step {
  step: () => Promise<unknown>;
  running?: Promise<unknown>;
  /** Settles once the step did, its error (if any) reported once. */
  reported?: Promise<void>;
}

export class Cleanups {
  private readonly steps: Step[] = [];

  constructor(private readonly onError: (err: Error) => void) {}

  /** Registers a step; returns a function that runs it now (or waits for it, if under way). */
  add(step: () => Promise<unknown>): () => Promise<void> {
    const entry: Step = { step };
    this.steps.push(entry);
    return async () => {
      await (entry.running ??= entry.step());
    };
  }

  /** Runs every step not yet run, latest first, and waits for those under way; each error goes to onError once. */
  async runAll(): Promise<void> {
    for (const entry of [...this.steps].reverse()) {
      entry.running ??= entry.step();
      await (entry.reported ??= entry.running.then(
        () => undefined,
        (err: unknown) => this.onError(err as Error),
      ));
    }
  }
}
