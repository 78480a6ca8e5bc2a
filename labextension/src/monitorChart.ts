/** The Monitor view's drawing, free of React: a column's drift statistic over the scoring
 * runs as a small line, the runs where it drifted marked, and the words that say it. */
import { metricValue } from './format';
import type { ColumnSeries, JobMonitor, ScoredRun } from './types';

export const CHART = { width: 150, height: 26, pad: 2 };

export interface DriftLine {
  /** SVG polyline points of the measured runs, oldest left. */
  points: string;
  /** Where the runs that drifted are, to draw as dots. */
  drifted: { x: number; y: number }[];
  /** For screen readers and the tooltip. */
  label: string;
  /** The newest measured value. */
  last: number | null;
}

/** The largest value of every column of a job: the lines share one scale, so the column that
 * moved stands out. */
export function driftTop(columns: ColumnSeries[]): number {
  let top = 0;
  for (const c of columns) {
    for (const v of c.values) {
      if (v !== null && v > top) {
        top = v;
      }
    }
  }
  return top;
}

/** One column's line against `top`; a single run is drawn in the middle. */
export function driftLine(series: ColumnSeries, top: number, size = CHART): DriftLine {
  const n = series.values.length;
  const spots: { x: number; y: number; drifted: boolean }[] = [];
  series.values.forEach((v, i) => {
    if (v === null) {
      return;
    }
    const x = n === 1 ? size.width / 2 : size.pad + (i * (size.width - 2 * size.pad)) / (n - 1);
    const share = top > 0 ? Math.min(Math.max(v / top, 0), 1) : 0;
    const y = size.height - size.pad - share * (size.height - 2 * size.pad);
    spots.push({ x: round(x), y: round(y), drifted: series.drifted[i] ?? false });
  });
  const last = [...series.values].reverse().find(v => v !== null) ?? null;
  const now = series.drifted[series.drifted.length - 1] ? ', drifted in the newest run' : '';
  return {
    points: spots.map(s => `${s.x},${s.y}`).join(' '),
    drifted: spots.filter(s => s.drifted).map(({ x, y }) => ({ x, y })),
    label: `${series.column}: ${series.statistic} over ${n} run${n === 1 ? '' : 's'}, newest ${metricValue(last)}${now}`,
    last
  };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** What a scoring run found, in a few words. */
export function verdict(run: ScoredRun): string {
  if (!run.compared) {
    return 'not compared';
  }
  return run.drifted ? `drifted: ${run.drifted_columns.join(', ')}` : 'no drift';
}

/** The job's state in one line, for its heading. */
export function jobState(job: JobMonitor): string {
  const last = job.runs[job.runs.length - 1];
  const parts = [last ? `${job.runs.length} scoring run${job.runs.length === 1 ? '' : 's'}` : 'no scoring run yet'];
  if (last?.drifted) {
    parts.push('newest drifted');
  }
  if (job.alerts.length) {
    parts.push(`${job.alerts.length} open alert${job.alerts.length === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}
