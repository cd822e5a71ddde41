import { cpus, loadavg, totalmem } from 'node:os';
import type { Table } from './types.js';
import { round } from './measure.js';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly node: string;
  readonly postgres: { readonly server_version: string };
  readonly nats?: { readonly server_version: string };
  /** 1-minute load average when the run started: other work on the machine moves absolute figures. */
  readonly loadAverage?: number;
}

export function describeMachine(postgresVersion: string, natsVersion?: string): Machine {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    postgres: { server_version: postgresVersion },
    ...(natsVersion === undefined ? {} : { nats: { server_version: natsVersion } }),
    loadAverage: round(loadavg()[0] ?? 0, 2),
  };
}

/** A plain-text table with right-aligned numeric columns. */
export function formatTable(table: Table): string {
  const widths = table.headers.map((header, column) =>
    Math.max(header.length, ...table.rows.map((row) => (row[column] ?? '').length)),
  );
  const numeric = (text: string) => /^[-+~≈]?[\d.,]+%?$/.test(text);
  // A column whose filled cells are all numbers is right-aligned, header included.
  const rightAligned = table.headers.map((_, column) => {
    const cells = table.rows.map((row) => row[column] ?? '').filter((cell) => cell !== '');
    return cells.length > 0 && cells.every(numeric);
  });
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (rightAligned[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '─'.repeat(width)).join('  ');
  return [line(table.headers), rule, ...table.rows.map(line)].join('\n');
}

export const formatInteger = (value: number): string => Math.round(value).toLocaleString('en-US');
export const formatPercent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
export const formatMs = (ms: number): string => ms.toFixed(2);
