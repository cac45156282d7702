/**
 * The progress line `gcl run` and `gcl rate-limit` show on stderr while they wait for slots:
 * a spinner, what is awaited and for how long. Only for a terminal (a cron job's log gets nothing),
 * and only after a short delay, so an immediate grant prints nothing at all.
 */

import type { Output } from "./io";

/** Waits shorter than this show nothing. */
const SHOW_AFTER_MS = 500;
const FRAME_MS = 100;
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** Carriage return, then erase to the end of the line. */
const CLEAR_LINE = "\r\u001b[K";

export interface Progress {
  /** Erases the line (if shown) so other text can be written; the next frame redraws it. */
  clear(): void;
  /** Erases the line and stops drawing. */
  stop(): void;
}

const SILENT: Progress = { clear: () => undefined, stop: () => undefined };

/** Starts the line `⠋ waiting for <what>… 3 s` on `stream`, if it is a terminal. */
export function startProgress(stream: Output, what: string): Progress {
  if (stream.isTTY !== true) {
    return SILENT;
  }
  const startedAt = Date.now();
  let frame = 0;
  let shown = false;
  let interval: ReturnType<typeof setInterval> | undefined;
  const draw = (): void => {
    const elapsed = Math.floor((Date.now() - startedAt) / 1000);
    stream.write(`${CLEAR_LINE}${FRAMES[frame % FRAMES.length] ?? ""} waiting for ${what}… ${elapsed} s`);
    frame += 1;
    shown = true;
  };
  const delay = setTimeout(() => {
    draw();
    interval = setInterval(draw, FRAME_MS);
    // The wait itself keeps the process alive; the drawing must not.
    interval.unref?.();
  }, SHOW_AFTER_MS);
  delay.unref?.();
  const clear = (): void => {
    if (shown) {
      stream.write(CLEAR_LINE);
      shown = false;
    }
  };
  return {
    clear,
    stop() {
      clearTimeout(delay);
      clearInterval(interval);
      clear();
    },
  };
}
