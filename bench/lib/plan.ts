/**
 * What one bench run does and what it aims for: the phases' lengths (quick or full), the
 * contended and rate-limit workloads, and the goals each figure is checked against
 * (docs/performance.md explains them).
 */

export interface Plan {
  /** Interleaved rounds of each sequential kind, and each round's length. */
  rounds: number;
  roundMs: number;
  /** Floor requests sent after idle, for the hand-off's floor. */
  idleFloors: number;
  contendedMs: number;
  rateMs: number;
  rateWarmupMs: number;
  /** Fresh workerd starts per cold-start figure (the median is reported). */
  coldStarts: number;
}

export function planFor(quick: boolean): Plan {
  return quick
    ? { rounds: 2, roundMs: 600, idleFloors: 40, contendedMs: 3_000, rateMs: 3_000, rateWarmupMs: 500, coldStarts: 2 }
    : {
        rounds: 5,
        roundMs: 1_000,
        idleFloors: 150,
        contendedMs: 10_000,
        rateMs: 10_000,
        rateWarmupMs: 1_000,
        coldStarts: 5,
      };
}

export const CONTENDED = { clients: 64, limit: 8, holdMs: 20 };
export const RATE = { clients: 64, limit: 50, perSecond: 50 };
/** Between phases: aborted requests and their give-backs settle before the next one starts. */
export const SETTLE_MS = 300;

export const GOALS = {
  utilization: 0.95,
  handoffP50Ms: 5,
  ratioToFloor: 0.85,
  rateErrorPct: 2,
  rpcRatioToFloor: 0.9,
  utilizationOfBound: 0.95,
  handoffOverIdleFloor: 1.5,
  bundleMinifiedBytes: 150 * 1024,
};
