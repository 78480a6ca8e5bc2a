import {
  ago,
  dataName,
  duration,
  keyMetrics,
  metricValue,
  mlflowRunUrl,
  sparklinePoints,
  spoolSummary,
  steppedMetrics
} from '../src/format';
import type { MetricPoint, RunSummary } from '../src/types';

const point = (step: number, value: number | null): MetricPoint => ({
  name: 'loss',
  value,
  step,
  timestamp_ms: 0
});

describe('format', () => {
  it('shortens a file path to its file name, and leaves other names', () => {
    expect(dataName('/home/ana/project/data/wine.csv')).toBe('…/wine.csv');
    expect(dataName('s3://bucket/raw/2026/wine.parquet')).toBe('…/wine.parquet');
    expect(dataName('data/wine.csv')).toBe('data/wine.csv');
    expect(dataName('X_train')).toBe('X_train');
  });

  it('tells times and durations briefly', () => {
    expect(ago(1000, 31000)).toBe('30 s ago');
    expect(ago(0)).toBe('');
    expect(ago(0 + 1, 1 + 7200 * 1000)).toBe('2 h ago');
    expect(duration(0.25)).toBe('250 ms');
    expect(duration(12.34)).toBe('12.3 s');
    expect(duration(null)).toBe('');
  });

  it('shows metric values with four significant digits', () => {
    expect(metricValue(0.912345)).toBe('0.9123');
    expect(metricValue(42)).toBe('42');
    expect(metricValue(null)).toBe('—');
    expect(metricValue(0.00001234)).toBe('1.23e-5');
  });

  it('picks key metrics by name', () => {
    const run = { metrics: { loss: 0.3, acc: 0.9, zz: 1 } } as unknown as RunSummary;
    expect(keyMetrics(run)).toEqual([
      ['acc', 0.9],
      ['loss', 0.3]
    ]);
  });

  it('finds stepped metrics and draws their sparkline', () => {
    const history = { loss: [point(0, 1), point(1, 0.5), point(2, 0)], acc: [point(0, 0.9)] };
    expect(steppedMetrics(history)).toEqual(['loss']);
    expect(sparklinePoints(history.loss, 90, 22)).toBe('1,1 45,11 89,21');
    expect(sparklinePoints([point(0, 2), point(1, 2)], 10, 10)).toBe('1,5 9,5');
    expect(sparklinePoints([point(0, null)], 10, 10)).toBe('');
  });

  it('links runs to the MLflow UI only when an address is known', () => {
    expect(mlflowRunUrl('http://h:5000/', '3', 'abc')).toBe(
      'http://h:5000/#/experiments/3/runs/abc?workflowType=machine_learning'
    );
    expect(mlflowRunUrl(null, '3', 'abc')).toBeNull();
  });

  it('says nothing about an empty spool, and why records wait otherwise', () => {
    expect(spoolSummary({ pending: 0, failing: false, last_error: null, failed: 0 })).toBeNull();
    expect(
      spoolSummary({ pending: 2, failing: true, last_error: 'connection refused', failed: 0 })
    ).toBe('2 records waiting to sync — connection refused');
  });
});
