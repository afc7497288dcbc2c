/** Restart policy for a crashing server: exponential backoff, reset after a stable run. */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** a run longer than this counts as healthy and resets the attempt count */
  stableMs?: number;
  /** give up after this many consecutive short runs */
  maxAttempts?: number;
}

export class Backoff {
  private attempts = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private readonly maxAttempts: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 30_000;
    this.stableMs = options.stableMs ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? 6;
  }

  /**
   * Called when the server died after running for `ranForMs`. Returns the delay before the next
   * start and the attempt number, or null to give up.
   */
  next(ranForMs: number): { delayMs: number; attempt: number } | null {
    if (ranForMs >= this.stableMs) this.attempts = 0;
    this.attempts += 1;
    if (this.attempts > this.maxAttempts) return null;
    const delayMs = Math.min(this.maxMs, this.initialMs * 2 ** (this.attempts - 1));
    return { delayMs, attempt: this.attempts };
  }

  reset(): void {
    this.attempts = 0;
  }

  get attempt(): number {
    return this.attempts;
  }
}
