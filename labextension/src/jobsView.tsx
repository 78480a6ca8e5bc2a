/** The jobs exported from the notebook: schedule, whether cron runs it, last runs with their
 * output notebooks, "Run now" with its parameters, "Install" / "Remove". */
import * as React from 'react';

import { ago, duration, metricValue, statusClass } from './format';
import type { SidebarModel } from './model';
import { PipelineGraph } from './pipelineGraph';
import type { JobInfo, JobRun, JobStepRun } from './types';

function Parameters(props: {
  job: JobInfo;
  values: Record<string, string>;
  onChange: (name: string, value: string) => void;
}): JSX.Element | null {
  const { job, values, onChange } = props;
  if (!job.parameters.length) {
    return null;
  }
  return (
    <div className="jp-nbmlops-job-params">
      {job.parameters.map(p => (
        <label key={p.name} title={p.help || `${p.type}, default ${String(p.default)}`}>
          <span>
            {p.name} <span className="jp-nbmlops-context">{p.type}</span>
          </span>
          <input
            className="jp-mod-styled"
            aria-label={`Parameter ${p.name} of ${job.name}`}
            value={values[p.name] ?? ''}
            placeholder={p.default === null || p.default === undefined ? '' : String(p.default)}
            onChange={e => onChange(p.name, e.target.value)}
          />
        </label>
      ))}
    </div>
  );
}

function Metrics(props: { metrics?: Record<string, number | null> }): JSX.Element | null {
  const entries = Object.entries(props.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) {
    return null;
  }
  return (
    <span className="jp-nbmlops-job-metrics">
      {entries.slice(0, 4).map(([name, value]) => (
        <span key={name} className="jp-nbmlops-metric">
          {name} <b>{metricValue(value)}</b>
        </span>
      ))}
    </span>
  );
}

function OutputLink(props: {
  path: string | null;
  label: string;
  openOutput?: (path: string) => void;
}): JSX.Element | null {
  const { path, label, openOutput } = props;
  if (!path || !openOutput) {
    return null;
  }
  return (
    <button className="jp-nbmlops-linkish" aria-label={label} onClick={() => openOutput(path)}>
      output
    </button>
  );
}

/** One step of a pipeline's run: its status, how long, its metrics, its output notebook. */
function StepRow(props: {
  job: string;
  step: JobStepRun;
  openOutput?: (path: string) => void;
}): JSX.Element {
  const { job, step, openOutput } = props;
  const skipped = step.status === 'SKIPPED';
  return (
    <li className="jp-nbmlops-job-step" title={step.status}>
      <span className={`jp-nbmlops-status jp-nbmlops-status-${statusClass(step.status)}`} />
      <span className="jp-nbmlops-run-name">{step.name}</span>
      <span className="jp-nbmlops-context">{skipped ? 'skipped: up to date' : step.status.toLowerCase()}</span>
      {skipped ? null : <span className="jp-nbmlops-run-duration">{duration(step.duration_s)}</span>}
      <Metrics metrics={step.metrics} />
      <OutputLink
        path={step.output}
        label={`Open the output notebook of ${job} step ${step.name}`}
        openOutput={openOutput}
      />
    </li>
  );
}

function RunRow(props: {
  job: string;
  run: JobRun;
  openOutput?: (path: string) => void;
}): JSX.Element {
  const { job, run, openOutput } = props;
  return (
    <li title={run.error ?? run.status}>
      <span className={`jp-nbmlops-status jp-nbmlops-status-${statusClass(run.status)}`} />
      <span className="jp-nbmlops-run-name">{run.status.toLowerCase()}</span>
      <span className="jp-nbmlops-run-time">{ago(run.start_time)}</span>
      <span className="jp-nbmlops-run-duration">{duration(run.duration_s)}</span>
      <Metrics metrics={run.metrics} />
      <OutputLink
        path={run.output}
        label={`Open the output notebook of ${job} run ${run.run_id.slice(0, 8)}`}
        openOutput={openOutput}
      />
      {run.steps?.length ? (
        <ul className="jp-nbmlops-job-steps" aria-label={`Run ${run.run_id.slice(0, 8)} of ${job}, step by step`}>
          {run.steps.map(step => (
            <StepRow key={step.run_id ?? step.name} job={job} step={step} openOutput={openOutput} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function JobCard(props: {
  model: SidebarModel;
  job: JobInfo;
  openOutput?: (path: string) => void;
}): JSX.Element {
  const { model, job, openOutput } = props;
  const [values, setValues] = React.useState<Record<string, string>>({});
  const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
  const cron = job.schedule.cron;
  return (
    <li className="jp-nbmlops-job" aria-label={`Job ${job.name}`}>
      <div className="jp-nbmlops-job-head">
        <b>{job.name}</b> <code className="jp-nbmlops-id">{job.folder}/</code>
      </div>
      <p className="jp-nbmlops-job-schedule">
        {cron ? (
          <>
            {job.schedule.words ?? cron} <span className="jp-nbmlops-context">({job.schedule.timezone})</span>
            {' · '}
            {job.installed ? (
              <span>installed in cron, next {job.next_run ? new Date(job.next_run).toLocaleString() : '?'}</span>
            ) : (
              <span className="jp-nbmlops-warn">not installed</span>
            )}
          </>
        ) : (
          'no schedule: runs when started'
        )}
        {job.files.length ? <> · files: {job.files.join(', ')}</> : null}
      </p>
      {job.steps?.length ? <PipelineGraph job={job.name} steps={job.steps} /> : null}
      <Parameters job={job} values={values} onChange={(n, v) => setValues({ ...values, [n]: v })} />
      <div className="jp-nbmlops-toolbar">
        <button
          className="jp-mod-styled jp-mod-accept"
          disabled={job.running}
          aria-label={`Run ${job.name} now`}
          onClick={() => void model.runJob(job.name, given)}
        >
          {job.running ? 'Running…' : 'Run now'}
        </button>
        {cron && job.schedule.targets.includes('cron') ? (
          <button
            className="jp-mod-styled"
            aria-label={`${job.installed ? 'Remove' : 'Install'} the cron schedule of ${job.name}`}
            onClick={() => void model.setSchedule(job.name, !job.installed)}
          >
            {job.installed ? 'Remove' : 'Install'}
          </button>
        ) : null}
      </div>
      {job.runs_error ? <p className="jp-nbmlops-error">Last runs unknown: {job.runs_error}</p> : null}
      {job.runs.length === 0 && !job.runs_error ? <p className="jp-nbmlops-empty">Never run.</p> : null}
      <ul className="jp-nbmlops-job-runs" aria-label={`Last runs of ${job.name}`}>
        {job.runs.map(run => (
          <RunRow key={run.run_id} job={job.name} run={run} openOutput={openOutput} />
        ))}
      </ul>
    </li>
  );
}

export function JobsView(props: {
  model: SidebarModel;
  openOutput?: (path: string) => void;
}): JSX.Element {
  const { model, openOutput } = props;
  return (
    <div className="jp-nbmlops-jobs">
      <div className="jp-nbmlops-toolbar">
        <button className="jp-mod-styled" onClick={() => void model.showRuns()} aria-label="Back to runs">
          ← Runs
        </button>
        <button className="jp-mod-styled" onClick={() => void model.loadJobs()} aria-label="Refresh the jobs">
          Refresh
        </button>
      </div>
      {model.jobMessage ? (
        <p className="jp-nbmlops-job-message" role="status">
          {model.jobMessage}
        </p>
      ) : null}
      {model.jobs.length === 0 && !model.loading ? (
        <p className="jp-nbmlops-empty">
          No job exported from this notebook yet: “Export as job…” above writes one.
        </p>
      ) : null}
      <ul className="jp-nbmlops-job-list" aria-label="Jobs of this notebook">
        {model.jobs.map(job => (
          <JobCard key={job.folder} model={model} job={job} openOutput={openOutput} />
        ))}
      </ul>
    </div>
  );
}
