/**
 * Work the STI-CA does after answering (challenge validation, issuance), as a real CA does it
 * asynchronously. Tracked so that stopping the sandbox waits for it instead of cutting a state
 * write in half.
 */
export class BackgroundWork {
  private readonly running = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly onError: (error: unknown) => void) {}

  run(delayMs: number, task: () => Promise<void>): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const done = task()
        .catch(this.onError)
        .finally(() => this.running.delete(done));
      this.running.add(done);
    }, delayMs);
    this.timers.add(timer);
  }

  /** Stops taking new work and waits for what is scheduled or running (delays are short). */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.timers.size > 0 || this.running.size > 0) {
      await Promise.allSettled([...this.running, new Promise((resolve) => setTimeout(resolve, 20))]);
    }
  }
}
