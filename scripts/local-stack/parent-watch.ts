import { readFileSync } from 'node:fs';

/** State and parent of a process from Linux's /proc; undefined once it is gone (or no /proc). */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so split after the last ')'.
    const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  const stat = procStat(pid);
  if (stat) return stat.state !== 'Z';
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Calls `onGone` once what started this process has ended. npm forwards SIGINT and SIGTERM
 * to the runner but dies of SIGHUP (or SIGKILL) without passing it on, and it runs scripts
 * through `sh -c`, which outlives it: under npm, the grandparent is watched too.
 */
export function watchParent(onGone: () => void, intervalMs = 500): void {
  const watched = [process.ppid];
  const grandparent = procStat(process.ppid)?.ppid;
  if (process.env.npm_lifecycle_event && grandparent && grandparent > 1) watched.push(grandparent);
  const timer = setInterval(() => {
    if (watched.every(alive)) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
}
