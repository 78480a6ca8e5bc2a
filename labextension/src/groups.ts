/**
 * The run list's shape: runs grouped by the notebook execution that made them (a kernel
 * session, a papermill run, a job run), and for each run the few params that tell it apart
 * from the other runs of its cell. Pure: unit-tested.
 */
import type { RunSummary } from './types';

export interface RunGroup {
  /** The execution's id, or the run's own id for a run of no known execution. */
  key: string;
  /** The job's parent run, when the execution is a job run in the list. */
  head: RunSummary | null;
  runs: RunSummary[];
  /** Parameters injected into the execution (papermill, `nbmlops run`), as `name=value`. */
  params: string[];
  /** The runs `nbmlops reproduce` made of a run of the group, by that run's id. */
  reproductions: Map<string, RunSummary[]>;
}

/** Consecutive runs of one execution, in the list's order; a job's parent run, or a
 * pipeline step's run, heads its group. A reproduction goes under the run it reproduces
 * when that run is in the list. */
export function groupRuns(runs: RunSummary[]): RunGroup[] {
  const groups: RunGroup[] = [];
  const byKey = new Map<string, RunGroup>();
  const listed = new Set(runs.map(r => r.run_id));
  const reproductions = new Map<string, RunSummary[]>();
  for (const run of runs) {
    if (run.reproduces && listed.has(run.reproduces) && run.reproduces !== run.run_id) {
      reproductions.set(run.reproduces, [...(reproductions.get(run.reproduces) ?? []), run]);
    }
  }
  const nested = new Set([...reproductions.values()].flat().map(r => r.run_id));
  for (const run of runs) {
    if (nested.has(run.run_id)) {
      continue;
    }
    // A step's cells nest under the step's run: the step heads them, not the pipeline.
    const key = run.step ? run.run_id : run.group || run.run_id;
    let group = byKey.get(key);
    if (!group) {
      group = { key, head: null, runs: [], params: [], reproductions };
      byKey.set(key, group);
      groups.push(group);
    }
    if ((run.job || run.step) && run.run_id === key) {
      group.head = run;
    } else {
      group.runs.push(run);
    }
  }
  for (const group of groups) {
    group.params = injectedParams(group);
  }
  return groups;
}

function injectedParams(group: RunGroup): string[] {
  const found = new Map<string, string>();
  if (group.head) {
    for (const [name, value] of Object.entries(group.head.params)) {
      found.set(name, value);
    }
  }
  for (const run of group.runs) {
    for (const name of run.injected_params ?? []) {
      if (!found.has(name) && run.params[name] !== undefined) {
        found.set(name, run.params[name]);
      }
    }
  }
  return [...found.entries()].sort().map(([k, v]) => `${k}=${v}`);
}

/**
 * For each run, up to `n` params (`name=value`) whose values differ among the runs of the
 * same cell (run name) in `runs`: what tells it apart from its neighbours.
 */
export function distinguishingParams(runs: RunSummary[], n = 3): Map<string, string[]> {
  const byCell = new Map<string, RunSummary[]>();
  for (const run of runs) {
    const cell = byCell.get(run.run_name) ?? [];
    cell.push(run);
    byCell.set(run.run_name, cell);
  }
  const out = new Map<string, string[]>();
  for (const cell of byCell.values()) {
    const names = new Set(cell.flatMap(r => Object.keys(r.params)));
    const varying = [...names]
      .filter(name => new Set(cell.map(r => r.params[name] ?? '\u0000')).size > 1)
      // Plain names first: `lr` tells more at a glance than `model.lr`.
      .sort((a, b) => Number(a.includes('.')) - Number(b.includes('.')) || a.localeCompare(b));
    for (const run of cell) {
      out.set(
        run.run_id,
        varying
          .filter(name => run.params[name] !== undefined)
          .slice(0, n)
          .map(name => `${name}=${run.params[name]}`)
      );
    }
  }
  return out;
}

/**
 * The params of `run` as `[name, value]` rows: those whose value differs among the runs of
 * its cell (run name) in `runs` (its injected params too), then the rest, each by name.
 */
export function splitParams(
  run: RunSummary,
  runs: RunSummary[]
): { differ: [string, string][]; same: [string, string][] } {
  const cell = runs.filter(r => r.run_name === run.run_name && r.run_id !== run.run_id);
  const injected = new Set(run.injected_params ?? []);
  const differ: [string, string][] = [];
  const same: [string, string][] = [];
  for (const [name, value] of Object.entries(run.params).sort(([a], [b]) => a.localeCompare(b))) {
    const varies = cell.some(r => r.params[name] !== value);
    (varies || injected.has(name) ? differ : same).push([name, value]);
  }
  return { differ, same };
}

/** A search's candidates of `run`, by the search's variable, each list best first. */
export function searchesOf(run: RunSummary): [string, RunSummary[]][] {
  const found = new Map<string, RunSummary[]>();
  for (const c of run.candidates ?? []) {
    const name = c.candidate_of || 'search';
    found.set(name, [...(found.get(name) ?? []), c]);
  }
  return [...found.entries()].map(([name, ranked]) => [
    name,
    [...ranked].sort((a, b) => (a.candidate_rank ?? 0) - (b.candidate_rank ?? 0))
  ]);
}

/** The score a candidate was ranked by: a search's mean test score, a study's value. */
export function candidateScore(run: RunSummary): [string, number | null] | null {
  const name =
    Object.keys(run.metrics).sort().find(k => k.startsWith('mean_test_')) ??
    (run.metrics.value !== undefined ? 'value' : undefined);
  return name ? [name, run.metrics[name] ?? null] : null;
}
