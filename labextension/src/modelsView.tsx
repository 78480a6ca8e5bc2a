/** The models the notebook's cells registered: versions newest first, their aliases (the
 * champion marked), metrics, gate reports and the alias history. */
import * as React from 'react';

import { ago, metricValue } from './format';
import type { SidebarModel } from './model';
import type { ModelVersion, RegisteredModel } from './types';

/** `champion` is the alias naming the model in use, as the server sends it. */
function Version(props: { model: SidebarModel; version: ModelVersion; champion: string }): JSX.Element {
  const { model, version } = props;
  const champion = version.aliases.includes(props.champion);
  const metrics = Object.entries(version.metrics).sort(([a], [b]) => a.localeCompare(b));
  const reigns = Object.entries(version.history).flatMap(([alias, list]) =>
    list.map(r => `${alias}: ${r.how ?? ''}${r.by ? ` by ${r.by}` : ''}${r.until ? ', ended' : ''}`)
  );
  return (
    <li
      className={`jp-nbmlops-version${champion ? ' jp-mod-champion' : ''}`}
      aria-label={`${version.name} version ${version.version}`}
    >
      <div className="jp-nbmlops-version-head">
        <b>v{version.version}</b>
        {version.aliases.map(alias => (
          <span key={alias} className={`jp-nbmlops-alias jp-mod-${alias}`}>
            {alias === props.champion ? '★ ' : ''}
            {alias}
          </span>
        ))}
        <span className="jp-nbmlops-run-time">{ago(version.created)}</span>
        {version.run_id ? (
          <button
            className="jp-nbmlops-linkish"
            aria-label={`Show the run of ${version.name} version ${version.version}`}
            onClick={() => void model.openRun(version.run_id!)}
          >
            run {version.run_id.slice(0, 8)}
          </button>
        ) : null}
      </div>
      {metrics.length ? (
        <div className="jp-nbmlops-run-metrics">
          {metrics.map(([name, value]) => (
            <span key={name} className="jp-nbmlops-metric">
              {name} <b>{metricValue(value)}</b>
            </span>
          ))}
        </div>
      ) : null}
      {version.gates ? <div className="jp-nbmlops-gates">gates: {version.gates}</div> : null}
      {reigns.length ? (
        <div className="jp-nbmlops-history" title="Alias history">
          {reigns.join(' · ')}
        </div>
      ) : null}
    </li>
  );
}

function Model(props: { model: SidebarModel; registered: RegisteredModel; champion: string }): JSX.Element {
  const { model, registered, champion } = props;
  const held = registered.aliases[champion];
  return (
    <li className="jp-nbmlops-registered" aria-label={`Model ${registered.name}`}>
      <div className="jp-nbmlops-job-head">
        <b>{registered.name}</b>{' '}
        <span className="jp-nbmlops-context">
          {registered.versions.length} version{registered.versions.length === 1 ? '' : 's'}
          {held ? ` · ${champion} v${held}` : ` · no ${champion} yet`}
        </span>
      </div>
      <ul className="jp-nbmlops-version-list">
        {registered.versions.map(v => (
          <Version key={v.version} model={model} version={v} champion={champion} />
        ))}
      </ul>
    </li>
  );
}

export function ModelsView(props: { model: SidebarModel }): JSX.Element {
  const { model } = props;
  const models = model.models?.models ?? [];
  const champion = model.models?.champion ?? '';
  return (
    <div className="jp-nbmlops-models">
      <div className="jp-nbmlops-toolbar">
        <button className="jp-mod-styled" onClick={() => void model.showRuns()} aria-label="Back to runs">
          ← Runs
        </button>
      </div>
      {models.length === 0 && !model.loading ? (
        <p className="jp-nbmlops-empty">
          No model registered from this notebook yet: <code>%%track NAME --model VAR</code> registers
          the model a cell fits; <code>%mlops promote</code> makes it {champion || 'the model in use'} through its gates.
        </p>
      ) : null}
      <ul className="jp-nbmlops-job-list" aria-label="Models of this notebook">
        {models.map(m => (
          <Model key={m.name} model={model} registered={m} champion={champion} />
        ))}
      </ul>
    </div>
  );
}
