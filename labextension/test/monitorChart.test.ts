import { CHART, driftLine, driftTop, jobState, verdict } from '../src/monitorChart';
import type { ColumnSeries, JobMonitor, ScoredRun } from '../src/types';

const series = (column: string, values: (number | null)[], drifted: boolean[]): ColumnSeries => ({
  column,
  statistic: 'wasserstein',
  values,
  drifted
});

const run = (drifted: boolean, columns: string[] = [], compared = true): ScoredRun => ({
  run_id: 'r',
  experiment_id: '1',
  when: '2026-12-07T00:00:00+00:00',
  status: 'FINISHED',
  version: '2',
  compared,
  drifted,
  drifted_columns: columns,
  drift_share: null,
  rows: null,
  job_run_id: null
});

describe('the Monitor view drawing', () => {
  it('draws every column on one scale, oldest left, drifted runs marked', () => {
    const age = series('age', [0, 0.25, 0.5], [false, false, true]);
    const plan = series('plan', [0.1, null, 0.1], [false, false, false]);
    const top = driftTop([age, plan]);
    expect(top).toBe(0.5);
    const line = driftLine(age, top);
    const { width, height, pad } = CHART;
    expect(line.points).toBe(`${pad},${height - pad} ${width / 2},${height / 2} ${width - pad},${pad}`);
    expect(line.drifted).toEqual([{ x: width - pad, y: pad }]);
    expect(line.label).toBe('age: wasserstein over 3 runs, newest 0.5, drifted in the newest run');
    expect(driftLine(series('plan', [0.1, 0.3, null], [false, false, false]), top).last).toBe(0.3);
    // A run that did not measure the column leaves a gap, not a zero.
    expect(driftLine(plan, top).points.split(' ')).toHaveLength(2);
    expect(driftLine(series('x', [0.2], [false]), 0.4).points).toBe(`${width / 2},${height / 2}`);
    expect(driftLine(series('x', [0, 0], [false, false]), 0).points).toBe(
      `${pad},${height - pad} ${width - pad},${height - pad}`
    );
  });

  it('says what each run found and what needs attention', () => {
    expect(verdict(run(true, ['age', 'plan']))).toBe('drifted: age, plan');
    expect(verdict(run(false))).toBe('no drift');
    expect(verdict(run(false, [], false))).toBe('not compared');
    const job = { runs: [run(false), run(true, ['age'])], alerts: [{}] } as unknown as JobMonitor;
    expect(jobState(job)).toBe('2 scoring runs · newest drifted · 1 open alert');
    expect(jobState({ runs: [], alerts: [] } as unknown as JobMonitor)).toBe('no scoring run yet');
  });
});
