/**
 * What `gcl run` and `gcl rate-limit` show on stderr while they wait for slots. On a terminal: a
 * spinner line, what is awaited and for how long, redrawn in place, shown only after a short delay
 * so an immediate grant prints nothing. Elsewhere (a cron job's log, a CI console): a plain line
 * every few seconds, so a log shows why the job has not started yet without filling up with frames.
 */

import type { Output } from "./io";

/** Waits shorter than this show nothing on a terminal. */
const SHOW_AFTER_MS = 500;
const FRAME_MS = 100;
/** How often a plain line is written when stderr is not a terminal. */
export const PLAIN_EVERY_MS = 5_000;
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** Carriage return, then erase to the end of the line. */
const CLEAR_LINE = "\r\u001b[K";

export interface Progress {
  /** Erases the line (if shown) so other text can be written; the next frame redraws it. */
  clear(): void;
  /** Erases the line and stops drawing. */
  stop(): void;
}

/** Starts reporting the wait for `what` (e.g. `1 slot on 'db'`) on `stream`. */
export function startProgress(stream: Output, what: string): Progress {
  return stream.isTTY === true ? spinner(stream, what) : plainLines(stream, what);
}

/** `Still waiting for 1 slot on 'db' after 10 s.` every PLAIN_EVERY_MS: no control characters. */
function plainLines(stream: Output, what: string): Progress {
  const startedAt = Date.now();
  const interval = setInterval(() => {
    const elapsed = Math.round((Date.now() - startedAt) / 1000);
    stream.write(`Still waiting for ${what} after ${elapsed} s.\n`);
  }, PLAIN_EVERY_MS);
  // The wait itself keeps the process alive; the reporting must not.
  interval.unref?.();
  return { clear: () => undefined, stop: () => clearInterval(interval) };
}

/** The line `⠋ waiting for <what>… 3 s`, redrawn in place. */
function spinner(stream: Output, what: string): Progress {
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
