/**
 * CPU time of other processes from Linux's /proc: less sensitive than wall time to whatever
 * else the machine is running. Everything returns null where /proc cannot tell.
 */

import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux x86 and arm). */
const USER_HZ = 100;

/** The fields of /proc/<pid>/stat after "(comm) ", and comm itself. */
function stat(pid: number | string): { comm: string; fields: string[] } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return {
      comm: text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")),
      fields: text.slice(text.lastIndexOf(")") + 2).split(" "),
    };
  } catch {
    return null;
  }
}

/** The pids of this process's children named `comm` (Miniflare spawns workerd directly). */
export function childPids(comm: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  return entries
    .filter((entry) => {
      const info = stat(entry);
      // ppid is field 4 of stat: index 1 after "(comm) ".
      return info !== null && info.comm === comm && Number(info.fields[1]) === process.pid;
    })
    .map(Number);
}

/** User + system CPU seconds used so far by `pids` (all their threads), or null. */
export function cpuSeconds(pids: readonly number[]): number | null {
  if (pids.length === 0) {
    return null;
  }
  let ticks = 0;
  for (const pid of pids) {
    const info = stat(pid);
    if (info === null) {
      return null;
    }
    // utime and stime are fields 14 and 15 of stat: indexes 11 and 12 after "(comm) ".
    ticks += Number(info.fields[11]) + Number(info.fields[12]);
  }
  return ticks / USER_HZ;
}
