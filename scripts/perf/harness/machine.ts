import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineSnapshot {
  at: string;
  loadAverage: [number, number, number];
}

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memoryGb: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The load average, as `uptime` shows it: other work on the machine skews every figure. */
export function snapshot(): MachineSnapshot {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  const round = (value: number) => Math.round(value * 100) / 100;
  return { at: new Date().toISOString(), loadAverage: [round(one), round(five), round(fifteen)] };
}

export const formatLoad = (s: MachineSnapshot) => `load ${s.loadAverage.join(' ')}`;
