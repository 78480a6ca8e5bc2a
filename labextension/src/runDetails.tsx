/** One run in full: metrics (sparklines), params (what differs first), data, environment,
 * code, MLflow link. */
import * as React from 'react';

import { Candidates } from './candidates';
import { FigureStrip } from './figures';
import {
  ago,
  dataName,
  duration,
  metricValue,
  mlflowRunUrl,
  steppedMetrics
} from './format';
import { splitParams } from './groups';
import { messageOf, type SidebarModel } from './model';
import { Sparkline } from './sparkline';
import type { RunDetails as Details } from './types';

function Section(props: { title: string; children: React.ReactNode }): JSX.Element {
  return (
    <section className="jp-nbmlops-section" aria-label={props.title}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}

function KeyValues(props: {
  rows: [string, React.ReactNode][];
  empty: string;
  className?: string;
}): JSX.Element {
  if (props.rows.length === 0) {
    return props.empty ? <p className="jp-nbmlops-empty">{props.empty}</p> : <></>;
  }
  return (
    <table className={`jp-nbmlops-kv ${props.className ?? ''}`.trim()}>
      <tbody>
        {props.rows.map(([key, value]) => (
          <tr key={key}>
            <th scope="row" title={key}>
              {key}
            </th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Open the run's MLflow page once the server has an MLflow UI for the store. The tab is
 * opened at the click, so the browser does not take it for a pop-up. */
export async function openInMlflow(model: SidebarModel, experimentId: string, runId: string) {
  const tab = window.open('', '_blank');
  try {
    const url = await model.mlflowRunUrl(experimentId, runId);
    if (tab) {
      tab.opener = null;
      tab.location.href = url;
    } else {
      window.open(url, '_blank', 'noopener');
    }
  } catch (error) {
    tab?.close();
    model.showError(`MLflow UI: ${messageOf(error)}`);
  }
}

export function RunDetailsView(props: { model: SidebarModel; details: Details }): JSX.Element {
  const { model, details } = props;
  const run = details.run;
  const stepped = new Set(steppedMetrics(details.metric_history));
  // What changed first: the run's params that differ from its cell's other runs.
  const params = splitParams(run, model.runs);
  const url = details.url ?? mlflowRunUrl(model.uiUrl, run.experiment_id, run.run_id);
  const env: [string, React.ReactNode][] = [];
  if (run.python) {
    env.push(['python', run.python]);
  }
  if (run.git_commit) {
    const dirty = run.git_dirty ? ' (uncommitted changes)' : '';
    env.push(['git', `${run.git_commit.slice(0, 10)}${dirty}`]);
  }
  const packages = Object.entries(details.requirements).sort(([a], [b]) =>
    a.toLowerCase().localeCompare(b.toLowerCase())
  );
  return (
    <div className="jp-nbmlops-details" aria-label={`Run ${run.run_name}`}>
      <div className="jp-nbmlops-toolbar">
        <button className="jp-mod-styled" onClick={() => model.back()} aria-label="Back to runs">
          ← Runs
        </button>
        {url ? (
          <a
            className="jp-nbmlops-link"
            href={url}
            target="_blank"
            rel="noopener noreferrer"
            aria-label="Open this run in the MLflow UI"
          >
            Open in MLflow ↗
          </a>
        ) : (
          <button
            className="jp-mod-styled jp-nbmlops-link"
            aria-label="Open this run in the MLflow UI"
            title="Starts MLflow's UI for this notebook's store on this machine"
            disabled={model.mlflowStarting}
            onClick={() => void openInMlflow(model, run.experiment_id, run.run_id)}
          >
            {model.mlflowStarting ? 'Starting MLflow…' : 'Open in MLflow ↗'}
          </button>
        )}
      </div>
      <h2 className="jp-nbmlops-title">
        {run.run_name} <span className="jp-nbmlops-id">{run.run_id.slice(0, 8)}</span>
      </h2>
      <p className="jp-nbmlops-meta">
        <span className={`jp-nbmlops-badge jp-nbmlops-badge-${run.status.toLowerCase()}`}>
          {run.status}
        </span>{' '}
        {ago(run.start_time)} · {duration(run.duration_s)}
        {run.code_sha ? ` · code ${run.code_sha.slice(0, 8)}` : ''}
      </p>
      {run.error ? (
        <p className="jp-nbmlops-error" role="alert">
          {run.error}
        </p>
      ) : null}
      {run.slice_verdict === 'stale' ? (
        <div className="jp-nbmlops-drift-alert" role="alert" aria-label="Stale inputs">
          ⚠ Its inputs were stale when it ran: {(run.slice_reasons ?? []).join('; ')}
        </div>
      ) : null}
      {run.reproduced ? (
        <p className="jp-nbmlops-meta">nbmlops reproduce: {run.reproduced}</p>
      ) : null}
      <Section title="Metrics">
        <KeyValues
          className="jp-nbmlops-metrics"
          rows={Object.keys(run.metrics)
            .sort()
            .map(name => [
              name,
              <span className="jp-nbmlops-metric-cell" key={name}>
                <b>{metricValue(run.metrics[name])}</b>
                {stepped.has(name) ? (
                  <Sparkline name={name} points={details.metric_history[name] ?? []} />
                ) : null}
              </span>
            ])}
          empty="No metrics."
        />
      </Section>
      {run.candidates?.length ? (
        <Section title="Search candidates">
          <Candidates model={model} run={run} open />
        </Section>
      ) : null}
      <Section title="Parameters">
        <KeyValues
          rows={params.differ}
          empty={params.same.length ? '' : 'No parameters.'}
        />
        {params.same.length ? (
          <details className="jp-nbmlops-same-params" open={params.differ.length === 0 && params.same.length <= 12}>
            <summary>
              {params.differ.length
                ? `${params.same.length} more, the same in the cell's other runs`
                : `${params.same.length} parameters`}
            </summary>
            <KeyValues rows={params.same} empty="" />
          </details>
        ) : null}
      </Section>
      {details.images?.length || details.figure_pages?.length ? (
        <Section title="Figures">
          <FigureStrip
            model={model}
            runId={run.run_id}
            paths={details.images ?? []}
            pages={details.figure_pages ?? []}
          />
        </Section>
      ) : null}
      <Section title="Data">
        {run.datasets.length === 0 ? (
          <p className="jp-nbmlops-empty">No data fingerprinted.</p>
        ) : (
          <table className="jp-nbmlops-kv jp-nbmlops-data">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">role</th>
                <th scope="col">fingerprint</th>
              </tr>
            </thead>
            <tbody>
              {run.datasets.map(d => (
                <tr key={`${d.name}:${d.context}`}>
                  <th scope="row" title={d.name}>
                    {dataName(d.name)}
                  </th>
                  <td>{d.context || 'input'}</td>
                  <td>
                    <code title={d.fingerprint}>{d.short}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {details.drift && details.drift.length > 0 ? (
          <ul className="jp-nbmlops-drift" aria-label="Drift alerts">
            {details.drift.map((alert, i) => (
              <li
                key={i}
                className={`jp-nbmlops-drift-alert jp-mod-${alert.kind}`}
                role="alert"
                title={`${alert.context}: ${alert.kind} changed since the cell's previous run`}
              >
                ⚠ {alert.line}
              </li>
            ))}
          </ul>
        ) : null}
      </Section>
      <Section title="Environment">
        <KeyValues rows={env} empty={packages.length ? '' : 'No environment recorded.'} />
        {packages.length ? (
          <details className="jp-nbmlops-packages">
            <summary>{packages.length} imported packages</summary>
            <KeyValues rows={packages} empty="" />
          </details>
        ) : null}
      </Section>
      <Section title="Code">
        {details.code ? (
          <pre className="jp-nbmlops-code" aria-label="The cell's code">
            {details.code}
          </pre>
        ) : (
          <p className="jp-nbmlops-empty">No code recorded.</p>
        )}
      </Section>
    </div>
  );
}
