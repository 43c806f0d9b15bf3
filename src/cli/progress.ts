// The one progress line on stderr for work that can take more than a second: a spinner, the
// phase, a bar when the total is known, and the seconds so far. It appears only after a delay
// (quick runs show nothing), redraws at most ten times a second, and clears itself when done.
// Off with --json, --quiet, or when stderr is not a terminal.
import type { ProgressEvent } from '../core/progress.js';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class ProgressLine {
  private phase = '';
  private done?: number;
  private total?: number;
  private readonly started: number;
  private timer?: NodeJS.Timeout;
  private frame = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly enabled: boolean,
    private readonly opts: { delayMs?: number; now?: () => number } = {},
  ) {
    this.started = this.now();
    if (this.enabled) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** The core's progress callback: `onProgress: progress.update`. */
  readonly update = (p: ProgressEvent): void => {
    this.phase = p.phase;
    this.done = p.done;
    this.total = p.total;
    if (this.enabled && this.now() - this.started >= (this.opts.delayMs ?? 1000)) this.draw();
  };

  /** The line as it is drawn now (for tests). */
  text(): string {
    const seconds = Math.floor((this.now() - this.started) / 1000);
    const parts = [FRAMES[this.frame % FRAMES.length]!, this.phase];
    if (this.total !== undefined && this.total > 1 && this.done !== undefined) {
      const width = 20;
      const filled = Math.round(Math.min(1, this.done / this.total) * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}`);
    }
    parts.push(`${seconds}s`);
    const line = parts.join(' ');
    const max = (this.stream.columns ?? 80) - 1;
    return line.length > max ? line.slice(0, max) : line;
  }

  private draw(): void {
    if (!this.enabled || !this.phase || this.now() - this.started < (this.opts.delayMs ?? 1000)) return;
    this.frame++;
    this.drawn = true;
    this.stream.write(`\r${this.text()}\x1b[K`);
  }

  /** Clears the line; call it before printing anything else. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
