/** The notebook's tracked cells (a filter) and its runs, newest first, with paging. */
import * as React from 'react';

import { ago, duration, keyMetrics, metricValue, statusClass } from './format';
import type { SidebarModel } from './model';
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

function RunRow(props: { model: SidebarModel; run: RunSummary }): JSX.Element {
  const { model, run } = props;
  const checked = model.selected.includes(run.run_id);
  const label = `${run.run_name} ${run.run_id.slice(0, 8)}`;
  return (
    <li className={`jp-nbmlops-run${checked ? ' jp-mod-selected' : ''}`} data-run-id={run.run_id}>
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
          <span className="jp-nbmlops-run-name">{run.run_name || run.run_id.slice(0, 8)}</span>
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
      </button>
    </li>
  );
}

export function RunList(props: { model: SidebarModel }): JSX.Element {
  const { model } = props;
  const twoSelected = model.selected.length === 2;
  return (
    <div className="jp-nbmlops-runs">
      <div className="jp-nbmlops-toolbar">
        <button
          className="jp-mod-styled jp-mod-accept jp-nbmlops-compare"
          disabled={!twoSelected}
          aria-label="Compare the two selected runs"
          title={twoSelected ? 'Compare the two selected runs' : 'Select two runs to compare'}
          onClick={() => void model.compare()}
        >
          Compare {model.selected.length}/2
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
        {model.runs.map(run => (
          <RunRow key={run.run_id} model={model} run={run} />
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
