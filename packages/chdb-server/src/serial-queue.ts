/**
 * Runs async jobs strictly one after another. The embedded engine executes
 * one query at a time anyway, and per-request settings live on the shared
 * session between a job's SET and its reset — so no two jobs may interleave.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Jobs queued or running. */
  get size(): number {
    return this.waiting;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(job);
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }

  /** Resolves once every job queued so far has settled. */
  async drain(): Promise<void> {
    while (this.waiting > 0) await this.tail;
  }
}
