import { readdirSync, readFileSync } from 'node:fs';

export interface MemoryReading {
  /** Resident set size now, in bytes. */
  rss: number;
  /** Peak resident set size since the process started (VmHWM), in bytes. */
  peak: number;
  /**
   * Resident anonymous memory now (RssAnon), in bytes: the heap, stacks and allocations that
   * are this process's alone. The rest of its RSS is file pages (RssFile), mostly the node
   * binary's code: shared by every process that runs it and dropped by the kernel when memory
   * is short.
   */
  private: number;
}

/** Reads VmRSS, VmHWM and RssAnon from /proc/<pid>/status; undefined once the process is gone. */
export function readMemory(pid: number): MemoryReading | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kilobytes = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  };
  return { rss: kilobytes('VmRSS'), peak: kilobytes('VmHWM'), private: kilobytes('RssAnon') };
}

/**
 * CPU time (user + system) the process has used, in milliseconds: unlike wall time, it
 * hardly changes when other work shares the machine.
 */
export function readCpuMs(pid: number, withExitedChildren = false): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name: utime, stime, cutime, cstime are 12th to 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = Number(fields[11]) + Number(fields[12]);
  const ticks = withExitedChildren ? own + Number(fields[13]) + Number(fields[14]) : own;
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU milliseconds of a process and its children (PostgreSQL: postmaster and backends), the
 * live ones and, through the parent's cutime and cstime, those that have exited.
 */
export function readTreeCpuMs(parentPid: number): number {
  let total = readCpuMs(parentPid, true) ?? 0;
  for (const pid of childPids(parentPid)) total += readCpuMs(pid) ?? 0;
  return total;
}

/** The live children of a process (a cluster primary's workers, a postmaster's backends). */
export function childPids(parentPid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === parentPid) children.push(Number(entry));
    } catch {
      // The process ended between listing and reading.
    }
  }
  return children;
}

/**
 * The machine's busy and total CPU time since boot from /proc/stat, in milliseconds summed
 * over every core: the difference of two readings says how busy the machine was between them,
 * whoever kept it busy.
 */
export function readMachineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // user nice system idle iowait irq softirq steal; guest time is already in user.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  // idle and iowait are the 4th and 5th.
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const ms = (value: number) => (value * 1000) / CLOCK_TICKS_PER_SECOND;
  return { busy: ms(total - idle), total: ms(total) };
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Samples a process's memory on an interval and keeps the first, last and highest readings. */
export class MemorySampler {
  first: MemoryReading | undefined;
  last: MemoryReading | undefined;
  /** Highest RSS seen by this sampler (its own window, not the process's lifetime). */
  peakRss = 0;
  /** The kernel's high-water mark (VmHWM) at the last sample: the process's lifetime peak. */
  highWater = 0;
  /** Highest private memory (RssAnon) seen by this sampler; the kernel keeps no peak of it. */
  peakPrivate = 0;
  private readonly timer: NodeJS.Timeout;

  /** Every reading with its time (performance.now()), when asked to keep them. */
  readonly samples: { at: number; rss: number }[] = [];

  constructor(
    private readonly pid: number,
    intervalMs = 250,
    private readonly keepSamples = false,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): MemoryReading | undefined {
    const reading = readMemory(this.pid);
    if (!reading) return undefined;
    this.first ??= reading;
    if (this.keepSamples) this.samples.push({ at: performance.now(), rss: reading.rss });
    this.last = reading;
    this.peakRss = Math.max(this.peakRss, reading.rss);
    this.highWater = Math.max(this.highWater, reading.peak);
    this.peakPrivate = Math.max(this.peakPrivate, reading.private);
    return reading;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

export const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
