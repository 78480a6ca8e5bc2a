/** The Monitor view: for each scoring job exported from the notebook, its model and champion,
 * the drift of each column over the scoring runs (small lines, drifted runs in red), the
 * alerts still open, the last retraining, and each scoring run with its link to MLflow. */
import * as React from 'react';

import { ago, metricValue, mlflowRunUrl } from './format';
import type { SidebarModel } from './model';
import { CHART, driftLine, driftTop, jobState, verdict } from './monitorChart';
import { openInMlflow } from './runDetails';
import type { ColumnSeries, JobMonitor, ScoredRun } from './types';

/** How many scoring runs are listed, newest first (the lines keep them all). */
const LISTED = 8;

function DriftRow(props: { series: ColumnSeries; top: number }): JSX.Element {
  const { series, top } = props;
  const line = driftLine(series, top);
  const now = series.drifted[series.drifted.length - 1] ?? false;
  return (
    <tr className={now ? 'jp-mod-drifted' : ''}>
      <th title={series.column}>{series.column}</th>
      <td>
        <svg
          className="jp-nbmlops-drift-line"
          width={CHART.width}
          height={CHART.height}
          viewBox={`0 0 ${CHART.width} ${CHART.height}`}
          role="img"
          aria-label={line.label}
        >
          <title>{line.label}</title>
          <polyline points={line.points} />
          {line.drifted.map((p, i) => (
            <circle key={i} cx={p.x} cy={p.y} r={2.5} />
          ))}
        </svg>
      </td>
      <td className="jp-nbmlops-drift-value" title={series.statistic}>
        {metricValue(line.last)}
      </td>
    </tr>
  );
}

function RunLink(props: { model: SidebarModel; run: ScoredRun; job: string }): JSX.Element {
  const { model, run, job } = props;
  const label = `Open scoring run ${run.run_id.slice(0, 8)} of ${job} in the MLflow UI`;
  const url = mlflowRunUrl(model.uiUrl, run.experiment_id, run.run_id);
  if (url) {
    return (
      <a className="jp-nbmlops-linkish" href={url} target="_blank" rel="noopener noreferrer" aria-label={label}>
        {run.run_id.slice(0, 8)} ↗
      </a>
    );
  }
  return (
    <button
      className="jp-nbmlops-linkish"
      aria-label={label}
      title="Opens MLflow's UI for this notebook's store (started on this machine if need be)"
      disabled={model.mlflowStarting}
      onClick={() => void openInMlflow(model, run.experiment_id, run.run_id)}
    >
      {run.run_id.slice(0, 8)} ↗
    </button>
  );
}

function Job(props: { model: SidebarModel; job: JobMonitor; champion: string }): JSX.Element {
  const { model, job, champion } = props;
  const top = driftTop(job.columns);
  const listed = [...job.runs].reverse().slice(0, LISTED);
  const retraining = job.retraining;
  return (
    <li className={`jp-nbmlops-monitor-job${job.attention ? ' jp-mod-attention' : ''}`} aria-label={`Monitoring of ${job.job}`}>
      <div className="jp-nbmlops-job-head">
        <b>{job.job}</b> <span className="jp-nbmlops-context">{jobState(job)}</span>
      </div>
      <div className="jp-nbmlops-monitor-model">
        {job.model ? (
          <>
            model <b>{job.model}</b>{' '}
            {job.champion ? (
              <span className={`jp-nbmlops-alias jp-mod-${champion}`}>
                ★ {champion} v{job.champion}
              </span>
            ) : (
              <span className="jp-nbmlops-context">no {champion}</span>
            )}
          </>
        ) : (
          <span className="jp-nbmlops-context">
            No scoring run yet: a tracked cell that calls <code>nbmlops.load_model('NAME@{champion}')</code> and predicts is one.
          </span>
        )}
      </div>
      {job.error ? <div className="jp-nbmlops-error">{job.error}</div> : null}
      {job.alerts.length ? (
        <section className="jp-nbmlops-monitor-alerts" aria-label={`Open alerts of ${job.job}`}>
          {job.alerts.map((a, i) => (
            <div key={i} className="jp-nbmlops-monitor-alert" role="status" title={a.deliveries.join('\n')}>
              ⚠ {a.title} <span className="jp-nbmlops-context">{ago(Date.parse(a.when))}</span>
            </div>
          ))}
        </section>
      ) : null}
      {job.columns.length ? (
        <section aria-label={`Drift per column of ${job.job}`}>
          <h3 className="jp-nbmlops-subtitle">
            Drift per column, {job.runs.length} runs <span className="jp-nbmlops-context">(oldest left; red: drifted)</span>
          </h3>
          <table className="jp-nbmlops-drift-table">
            <tbody>
              {job.columns.map(s => (
                <DriftRow key={`${s.column}.${s.statistic}`} series={s} top={top} />
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <section aria-label={`Last retraining of ${job.job}`} className="jp-nbmlops-monitor-retraining">
        {retraining ? (
          <>
            Last retraining {ago(Date.parse(retraining.when))}: {retraining.reason ?? 'drift'} →{' '}
            <b>{retraining.outcome ?? 'no outcome yet'}</b>
          </>
        ) : (
          <span className="jp-nbmlops-context">Never retrained.</span>
        )}
      </section>
      {listed.length ? (
        <ul className="jp-nbmlops-monitor-runs" aria-label={`Scoring runs of ${job.job}`}>
          {listed.map(run => (
            <li key={run.run_id} className={run.drifted ? 'jp-mod-drifted' : ''}>
              <span className="jp-nbmlops-run-time">{ago(Date.parse(run.when))}</span> v{run.version}{' '}
              <span className="jp-nbmlops-monitor-verdict">{verdict(run)}</span>
              {run.rows !== null ? <span className="jp-nbmlops-context"> · {run.rows} rows</span> : null}{' '}
              <RunLink model={model} run={run} job={job.job} />
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export function MonitorView(props: { model: SidebarModel }): JSX.Element {
  const { model } = props;
  const jobs = model.monitor?.jobs ?? [];
  const champion = model.monitor?.champion ?? 'champion';
  return (
    <div className="jp-nbmlops-monitor">
      <div className="jp-nbmlops-toolbar">
        <button className="jp-mod-styled" onClick={() => void model.showRuns()} aria-label="Back to runs">
          ← Runs
        </button>
        <button className="jp-mod-styled" onClick={() => void model.showMonitor()} aria-label="Refresh the monitoring">
          Refresh
        </button>
      </div>
      {jobs.length === 0 && !model.loading ? (
        <p className="jp-nbmlops-empty">
          No job exported from this notebook yet. A job whose tracked cell scores with{' '}
          <code>nbmlops.load_model('NAME@{champion}')</code> is monitored: <code>nbmlops monitor JOB</code> in a terminal.
        </p>
      ) : null}
      <ul className="jp-nbmlops-job-list" aria-label="Scoring jobs of this notebook">
        {jobs.map(j => (
          <Job key={j.folder} model={model} job={j} champion={champion} />
        ))}
      </ul>
    </div>
  );
}
