/** Pure formatting of what the sidebar shows: times, durations, metrics, sparklines. */
import type { MetricPoint, RunSummary } from './types';

/** "12 s ago", "5 min ago", "3 h ago", else the date. */
export function ago(ms: number | null, now: number = Date.now()): string {
  if (!ms) {
    return '';
  }
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) {
    return `${seconds} s ago`;
  }
  if (seconds < 3600) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return new Date(ms).toISOString().slice(0, 10);
}

export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** A file's data name as a narrow panel can show it: "…/wine.csv" for
 * "/home/ana/project/data/wine.csv" (the whole path is its title); a short relative path
 * ("data/wine.csv") and other names as they are. */
export function dataName(name: string): string {
  const parts = name.split('/').filter(p => p !== '');
  return parts.length > 2 ? `…/${parts[parts.length - 1]}` : name;
}

/** Four significant digits; integers as they are; null as an em dash. */
export function metricValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e9) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return value.toExponential(2);
  }
  return String(Number(value.toPrecision(4)));
}

/** The first `n` metrics of a run by name, for a row of the run list. */
export function keyMetrics(run: RunSummary, n = 2): [string, number | null][] {
  return Object.keys(run.metrics)
    .sort()
    .slice(0, n)
    .map(name => [name, run.metrics[name] ?? null]);
}

/** Metrics logged at more than one step: those get a sparkline. */
export function steppedMetrics(history: Record<string, MetricPoint[]>): string[] {
  return Object.keys(history)
    .filter(name => new Set((history[name] ?? []).map(p => p.step)).size > 1)
    .sort();
}

/**
 * An SVG polyline `points` attribute for the values, `width` x `height`, y growing down.
 * Non-finite values are skipped; a flat series is drawn at mid height.
 */
export function sparklinePoints(points: MetricPoint[], width: number, height: number): string {
  const finite = points.filter(
    (p): p is MetricPoint & { value: number } => p.value !== null && Number.isFinite(p.value)
  );
  if (finite.length === 0) {
    return '';
  }
  const steps = finite.map(p => p.step);
  const values = finite.map(p => p.value);
  const [s0, s1] = [Math.min(...steps), Math.max(...steps)];
  const [v0, v1] = [Math.min(...values), Math.max(...values)];
  const pad = 1;
  return finite
    .map(p => {
      const x = s1 === s0 ? width / 2 : pad + ((p.step - s0) / (s1 - s0)) * (width - 2 * pad);
      const y =
        v1 === v0 ? height / 2 : pad + (1 - (p.value - v0) / (v1 - v0)) * (height - 2 * pad);
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** A run's short label: its name and the first 8 characters of its id. */
export function runLabel(run: RunSummary): string {
  return `${run.run_name || 'run'} · ${run.run_id.slice(0, 8)}`;
}

/** Status as a CSS modifier: finished, failed, killed, running, other. */
export function statusClass(status: string): string {
  const known = ['FINISHED', 'FAILED', 'KILLED', 'RUNNING', 'SCHEDULED'];
  return known.includes(status) ? status.toLowerCase() : 'other';
}

/** The MLflow UI link of a run, when a UI address is known. */
export function mlflowRunUrl(
  uiUrl: string | null | undefined,
  experimentId: string,
  runId: string
): string | null {
  if (!uiUrl) {
    return null;
  }
  // MLflow 3's UI opens on its GenAI view unless the link asks for model training.
  const base = uiUrl.replace(/\/+$/, '');
  return `${base}/#/experiments/${experimentId}/runs/${runId}?workflowType=machine_learning`;
}

/** One line about the spool for the indicator, or null when nothing waits. */
export function spoolSummary(status: {
  pending: number;
  failing: boolean;
  last_error: string | null;
  failed: number;
}): string | null {
  if (status.pending === 0 && status.failed === 0) {
    return null;
  }
  const parts: string[] = [];
  if (status.pending) {
    parts.push(`${status.pending} record${status.pending === 1 ? '' : 's'} waiting to sync`);
  }
  if (status.failed) {
    parts.push(`${status.failed} refused (nbmlops sync --retry-failed)`);
  }
  if (status.failing && status.last_error) {
    parts.push(status.last_error);
  }
  return parts.join(' — ');
}
