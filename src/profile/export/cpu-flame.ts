/**
 * CPU samples as a flame chart of complete ('X') events on one track: each sample stands for the
 * time until the next one (at most 1.5 sampling periods: idle samples are not recorded, so a longer
 * gap is idle), and consecutive samples that share outer frames share one slice per frame. Slices
 * close innermost first and never outlive their parent, so the track nests by construction.
 *
 * Why slices and not DevTools' `ProfileChunk` events: Perfetto's JSON importer draws X events, not
 * V8 profile chunks, and DevTools draws both; the exact samples are what `--format cpuprofile` is for.
 */
import type { ExportFrame } from './stacks.js';

export interface FlameSlice {
  readonly frame: ExportFrame;
  readonly startUs: number;
  readonly endUs: number;
}

interface OpenFrame {
  readonly frame: ExportFrame;
  readonly startUs: number;
}

export class CpuFlame {
  readonly #periodUs: number;
  readonly #open: OpenFrame[] = [];
  #lastSampleUs = Number.NEGATIVE_INFINITY;
  /** Samples older than one already placed (out of order across segments): left out, counted. */
  skipped = 0;
  samples = 0;

  constructor(sampleHz: number) {
    this.#periodUs = 1e6 / (sampleHz > 0 ? sampleHz : 99);
  }

  /** Adds one sample (frames outermost first); returns the slices it closed. */
  sample(timeUs: number, frames: readonly ExportFrame[], closed: FlameSlice[]): void {
    if (timeUs < this.#lastSampleUs) {
      this.skipped++;
      return;
    }
    this.samples++;
    const coverEndUs = Math.min(timeUs, this.#lastSampleUs + 1.5 * this.#periodUs);
    if (coverEndUs < timeUs) this.#closeFrom(0, coverEndUs, closed);
    let shared = 0;
    while (
      shared < this.#open.length &&
      shared < frames.length &&
      (this.#open[shared] as OpenFrame).frame.key === (frames[shared] as ExportFrame).key
    )
      shared++;
    this.#closeFrom(shared, timeUs, closed);
    for (let i = shared; i < frames.length; i++) this.#open.push({ frame: frames[i] as ExportFrame, startUs: timeUs });
    this.#lastSampleUs = timeUs;
  }

  /** Closes everything still open (end of the process's trace). */
  finish(closed: FlameSlice[]): void {
    this.#closeFrom(0, this.#lastSampleUs + this.#periodUs, closed);
  }

  #closeFrom(depth: number, endUs: number, closed: FlameSlice[]): void {
    while (this.#open.length > depth) {
      const open = this.#open.pop() as OpenFrame;
      closed.push({ frame: open.frame, startUs: open.startUs, endUs });
    }
  }
}
