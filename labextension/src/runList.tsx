/** The notebook's tracked cells (a filter) and its runs, newest first, grouped by the
 * notebook execution that made them, with paging. */
import * as React from 'react';

import { Candidates } from './candidates';
import { ago, duration, keyMetrics, metricValue, statusClass } from './format';
import { distinguishingParams, groupRuns, type RunGroup } from './groups';
import { MAX_COMPARED, type SidebarModel } from './model';
import type { RunSummary } from './types';

export function CellFilter(props: { model: SidebarModel }): JSX.Element | null {
  const { model } = props;
  const cells = model.info?.cells ?? [];
  if (cells.length === 0) {
    return null;
  }
  const names = Array.from(new Set(cells.map(c => c.run_name)));
  return (
    <label className="jp-nbmlops-cells">
      <span>Tracked cell</span>
      <select
        aria-label="Show the runs of one tracked cell"
        value={model.cell ?? ''}
        onChange={e => void model.setCell(e.target.value || null)}
      >
        <option value="">all {cells.length} tracked cells</option>
        {names.map(name => {
          const cell = cells.find(c => c.run_name === name);
          return (
            <option key={name} value={name} title={cell?.first_line}>
              {name}
            </option>
          );
        })}
      </select>
    </label>
  );
}

function RunRow(props: {
  model: SidebarModel;
  run: RunSummary;
  tells: string[];
  reproductions?: Map<string, RunSummary[]>;
}): JSX.Element {
  const { model, run, tells, reproductions } = props;
  const checked = model.selected.includes(run.run_id);
  const label = `${run.run_name} ${run.run_id.slice(0, 8)}`;
  const again = reproductions?.get(run.run_id) ?? [];
  const kind = run.reproduces ? ' jp-nbmlops-reproduction' : '';
  return (
    <li
      className={`jp-nbmlops-run${kind}${checked ? ' jp-mod-selected' : ''}`}
      data-run-id={run.run_id}
    >
      <input
        type="checkbox"
        checked={checked}
        aria-label={`Select ${label} for comparison`}
        onChange={() => model.toggleSelected(run.run_id)}
      />
      <button
        className="jp-nbmlops-run-open"
        aria-label={`Show details of run ${label}`}
        onClick={() => void model.openRun(run.run_id)}
      >
        <span className="jp-nbmlops-run-head">
          <span
            className={`jp-nbmlops-status jp-nbmlops-status-${statusClass(run.status)}`}
            title={run.status}
            aria-label={`status ${run.status}`}
          />
          {run.reproduces ? (
            <span
              className="jp-nbmlops-reproduces"
              title={`nbmlops reproduce re-ran run ${run.reproduces}`}
            >
              ↻ reproduction
            </span>
          ) : null}
          <span className="jp-nbmlops-run-name">{run.run_name || run.run_id.slice(0, 8)}</span>
          <code className="jp-nbmlops-id" title={run.run_id}>
            {run.run_id.slice(0, 8)}
          </code>
          <span className="jp-nbmlops-run-time" title={new Date(run.start_time ?? 0).toString()}>
            {ago(run.start_time)}
          </span>
        </span>
        <span className="jp-nbmlops-run-metrics">
          {keyMetrics(run).map(([name, value]) => (
            <span key={name} className="jp-nbmlops-metric">
              {name} <b>{metricValue(value)}</b>
            </span>
          ))}
          <span className="jp-nbmlops-run-duration">{duration(run.duration_s)}</span>
        </span>
        <RunBadges model={model} run={run} />
        {tells.length ? (
          <span className="jp-nbmlops-run-params" title="Parameters that differ from the cell's other runs">
            {tells.join(' · ')}
          </span>
        ) : null}
      </button>
      <Candidates model={model} run={run} />
      {again.length ? (
        <ul className="jp-nbmlops-reproductions" aria-label={`Reproductions of ${label}`}>
          {again.map(r => (
            <RunRow key={r.run_id} model={model} run={r} tells={[]} reproductions={reproductions} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

/** What else is known of a run: its model is champion; its inputs were stale; whether
 * `nbmlops reproduce` got its results back. */
function RunBadges(props: { model: SidebarModel; run: RunSummary }): JSX.Element | null {
  const { model, run } = props;
  const champion = model.championOf(run.run_id);
  const alias = model.models?.champion ?? '';
  const stale = run.slice_verdict === 'stale';
  if (!champion.length && !stale && !run.reproduced) {
    return null;
  }
  return (
    <span className="jp-nbmlops-badges">
      {champion.map(name => (
        <span key={name} className={`jp-nbmlops-alias jp-mod-${alias}`} title={`This run trained the ${alias}`}>
          ★ {alias} {name}
        </span>
      ))}
      {stale ? (
        <span className="jp-nbmlops-stale" title={(run.slice_reasons ?? []).join('\n')}>
          ⚠ stale inputs
        </span>
      ) : null}
      {run.reproduced ? (
        <span
          className={`jp-nbmlops-reproduced jp-mod-${run.reproduced}`}
          title="nbmlops reproduce: whether a re-run gave the same results"
        >
          reproduced: {run.reproduced}
        </span>
      ) : null}
    </span>
  );
}

/** One notebook execution: a heading (the job's run, or the kernel session) over its runs. */
function Group(props: {
  model: SidebarModel;
  group: RunGroup;
  tells: Map<string, string[]>;
}): JSX.Element {
  const { model, group, tells } = props;
  const rows = group.runs.map(run => (
    <RunRow
      key={run.run_id}
      model={model}
      run={run}
      tells={tells.get(run.run_id) ?? []}
      reproductions={group.reproductions}
    />
  ));
  if (!group.head && group.runs.length === 1 && !group.params.length) {
    return <>{rows}</>;
  }
  const first = group.head ?? group.runs[group.runs.length - 1];
  const title = group.head
    ? group.head.step
      ? `pipeline step ${group.head.step}`
      : `job ${group.head.job}`
    : 'notebook run';
  return (
    <li className="jp-nbmlops-group" data-group={group.key}>
      <div className="jp-nbmlops-group-head">
        {group.head ? (
          <button
            className="jp-nbmlops-run-open"
            aria-label={`Show details of ${title} ${group.head.run_id.slice(0, 8)}`}
            onClick={() => void model.openRun(group.head!.run_id)}
          >
            <span
              className={`jp-nbmlops-status jp-nbmlops-status-${statusClass(group.head.status)}`}
              title={group.head.status}
            />
            {title}
          </button>
        ) : (
          <span>{title}</span>
        )}
        <span className="jp-nbmlops-run-time">{ago(first?.start_time ?? null)}</span>
        <span className="jp-nbmlops-group-count">
          {group.runs.length} run{group.runs.length === 1 ? '' : 's'}
        </span>
        {group.params.length ? (
          <span className="jp-nbmlops-group-params" title="Parameters given to this run of the notebook">
            {group.params.join(' · ')}
          </span>
        ) : null}
      </div>
      <ul aria-label={`Runs of ${title}`}>{rows}</ul>
    </li>
  );
}

export function RunList(props: { model: SidebarModel }): JSX.Element {
  const { model } = props;
  const count = model.selected.length;
  const groups = groupRuns(model.runs);
  const tells = distinguishingParams(model.runs);
  return (
    <div className="jp-nbmlops-runs">
      <div className="jp-nbmlops-toolbar">
        <button
          className="jp-mod-styled jp-mod-accept jp-nbmlops-compare"
          disabled={count < 2}
          aria-label={`Compare the ${count} selected runs`}
          title={
            count < 2
              ? `Select two or more runs (up to ${MAX_COMPARED}) to compare`
              : `Compare the ${count} selected runs`
          }
          onClick={() => void model.compare()}
        >
          Compare {count}
        </button>
        <button
          className="jp-mod-styled jp-nbmlops-refresh"
          aria-label="Refresh the runs"
          onClick={() => void model.refresh()}
        >
          Refresh
        </button>
      </div>
      {model.runs.length === 0 && !model.loading && !model.error ? (
        <p className="jp-nbmlops-empty">
          No runs yet. Run a cell that starts with <code>%%track</code> (after{' '}
          <code>%load_ext nbmlops</code>).
        </p>
      ) : null}
      <ul className="jp-nbmlops-run-list" aria-label="Runs, newest first">
        {groups.map(group => (
          <Group key={group.key} model={model} group={group} tells={tells} />
        ))}
      </ul>
      {model.nextPageToken ? (
        <button
          className="jp-mod-styled jp-nbmlops-more"
          disabled={model.loading}
          onClick={() => void model.loadMore()}
        >
          Older runs
        </button>
      ) : null}
    </div>
  );
}
