/** How long a build runs before its steps are sent as they happen, ms. */
export const LIVE_STEPS_AFTER_MS = 300;

/**
 * A build's steps on their way to the conductor, each stamped when the driver reports it done. Steps are sent
 * live only once a build has run for a while (people watch slow builds); a fast build carries its steps in
 * its result, which saves the conductor a job per step. Live steps are sent one after the other, each once
 * the one before is in the queue, so that they reach the conductor in the order they happened; the result
 * goes after them.
 */
export class BuildSteps {
  private readonly started = Date.now();
  private readonly pending: { step: string; at: string }[] = [];
  private sent: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    /** Sends one step live; a failure to send it loses only that step. */
    private readonly send: (step: string, at: string) => Promise<unknown>,
    private readonly liveAfterMs = LIVE_STEPS_AFTER_MS,
  ) {
    this.timer = setTimeout(() => this.flush(), liveAfterMs);
  }

  /** The driver's progress callback: `step` is done now. */
  readonly done = (step: string): void => {
    this.pending.push({ step, at: new Date().toISOString() });
    if (Date.now() - this.started >= this.liveAfterMs) this.flush();
  };

  private flush(): void {
    for (const { step, at } of this.pending.splice(0)) {
      this.sent = this.sent.then(() => this.send(step, at).then(
        () => {},
        () => {},
      ));
    }
  }

  /** The build is done: once its live steps are in the queue, answers the steps not sent (the result carries them). */
  async end(): Promise<string[]> {
    clearTimeout(this.timer);
    await this.sent;
    return this.pending.splice(0).map((s) => s.step);
  }

  /** The build failed: steps not sent are dropped; answers once the live ones are in the queue. */
  async drop(): Promise<void> {
    clearTimeout(this.timer);
    this.pending.length = 0;
    await this.sent;
  }
}
