// Which process is advancing a take. A pid alone is not an identity: after a crash and a reboot
// (or plain pid reuse) an unrelated process can hold the recorded pid, and the take would look
// "owned" forever and never resume. On Linux the owner also records its boot id and start time
// from /proc, so a recycled pid is recognised, and a zombie counts as gone. Elsewhere the pid
// probe is all there is.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface TakeOwner {
  pid: number;
  host: string;
  /** `<boot id>:<start time in clock ticks>` (Linux only): tells a recycled pid from the owner. */
  start?: string;
}

interface ProcInfo {
  state: string;
  start: string;
}

/** The boot id and start time of a process from /proc, or undefined where /proc is not there. */
export function procInfo(pid: number, procRoot = '/proc'): ProcInfo | undefined {
  try {
    const bootId = readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim();
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .trim()
      .split(/\s+/);
    const state = fields[0];
    const ticks = fields[19];
    if (!state || !ticks || !bootId) return undefined;
    return { state, start: `${bootId}:${ticks}` };
  } catch {
    return undefined;
  }
}

/** This process as a take owner. */
export function currentOwner(): TakeOwner {
  const owner: TakeOwner = { pid: process.pid, host: os.hostname() };
  const info = procInfo(process.pid);
  if (info) owner.start = info.start;
  return owner;
}

/**
 * Who else is working on a take: a live process on this host (the same process, not one that
 * reuses its pid), or a process on another host that wrote the entry in the last 10 minutes.
 * Undefined when nobody is.
 */
export function ownedElsewhere(
  owner: TakeOwner | undefined,
  updatedAt: number,
  now = Date.now(),
): string | undefined {
  if (!owner) return undefined;
  if (owner.host !== os.hostname()) {
    return now - updatedAt < 10 * 60_000 ? `pid ${owner.pid} on ${owner.host}` : undefined;
  }
  if (owner.pid === process.pid) return undefined;
  const info = procInfo(owner.pid);
  if (info) {
    if (info.state === 'Z' || info.state === 'X') return undefined;
    if (owner.start !== undefined && owner.start !== info.start) return undefined;
    return `pid ${owner.pid}`;
  }
  try {
    process.kill(owner.pid, 0);
    return `pid ${owner.pid}`;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? `pid ${owner.pid}` : undefined;
  }
}

/** True while `owner` (which recorded something at `at`) may still be working: this process included. */
export function ownerAlive(owner: TakeOwner, at: number): boolean {
  if (owner.host === os.hostname() && owner.pid === process.pid) {
    return owner.start === undefined || owner.start === currentOwner().start;
  }
  return ownedElsewhere(owner, at) !== undefined;
}
