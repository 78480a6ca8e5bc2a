/** The diff of two runs (nbmlops.runs.diff): what changed, with the better metric marked. */
import * as React from 'react';

import { Figure, figureName } from './figures';
import { dataName, metricValue, runLabel } from './format';
import type { SidebarModel } from './model';
import type { RunDiff } from './types';

function Head(props: { diff: RunDiff }): JSX.Element {
  return (
    <thead>
      <tr>
        <th scope="col" />
        {props.diff.runs.map((run, i) => (
          <th scope="col" key={run.run_id} title={run.run_id}>
            {i === 0 ? 'baseline ' : ''}
            {runLabel(run)}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A table with a column per run; it scrolls sideways once the runs outgrow the panel. */
function Grid(props: {
  diff: RunDiff;
  className?: string;
  children: React.ReactNode;
}): JSX.Element {
  const runs = { '--nbmlops-runs': props.diff.runs.length } as React.CSSProperties;
  return (
    <div className="jp-nbmlops-scroll">
      <table className={`jp-nbmlops-grid ${props.className ?? ''}`.trim()} style={runs}>
        <Head diff={props.diff} />
        {props.children}
      </table>
    </div>
  );
}

export function DiffView(props: { model: SidebarModel; diff: RunDiff }): JSX.Element {
  const { model, diff } = props;
  const params = diff.params.filter(p => p.differs);
  const same = diff.params.length - params.length;
  const labelOf = (runId: string): string => {
    const run = diff.runs.find(r => r.run_id === runId);
    return run ? runLabel(run) : runId.slice(0, 8);
  };
  return (
    <div className="jp-nbmlops-diff" aria-label={`Comparison of ${diff.runs.length} runs`}>
      <div className="jp-nbmlops-toolbar">
        <button className="jp-mod-styled" onClick={() => model.back()} aria-label="Back to runs">
          ← Runs
        </button>
      </div>
      <h2 className="jp-nbmlops-title">Compare {diff.runs.length} runs</h2>
      <section className="jp-nbmlops-section" aria-label="Parameters that differ">
        <h3>Parameters{same ? ` (${same} the same)` : ''}</h3>
        {params.length === 0 ? (
          <p className="jp-nbmlops-empty">Same parameters.</p>
        ) : (
          <Grid diff={diff}>
            <tbody>
              {params.map(row => (
                <tr key={row.name} className="jp-mod-differs">
                  <th scope="row" title={row.name}>{row.name}</th>
                  {row.values.map((v, i) => (
                    <td key={i}>{v ?? '—'}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </Grid>
        )}
      </section>
      <section className="jp-nbmlops-section" aria-label="Metrics">
        <h3>Metrics</h3>
        <Grid diff={diff}>
          <tbody>
            {diff.metrics.map(row => (
              <tr key={row.name} className={row.differs ? 'jp-mod-differs' : ''}>
                <th scope="row" title={row.name}>
                  {row.name}
                  {row.direction ? (
                    <span className="jp-nbmlops-dir" title={`${row.direction} is better`}>
                      {row.direction === 'max' ? ' ↑' : ' ↓'}
                    </span>
                  ) : null}
                </th>
                {row.values.map((v, i) => (
                  <td key={i} className={row.best.includes(i) && row.differs ? 'jp-mod-best' : ''}>
                    {metricValue(v)}
                    {row.best.includes(i) && row.differs ? (
                      <span className="jp-nbmlops-sr"> (better)</span>
                    ) : null}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </Grid>
      </section>
      {diff.images && diff.images.length ? (
        <section className="jp-nbmlops-section" aria-label="Figures">
          <h3>Figures</h3>
          <Grid diff={diff} className="jp-nbmlops-figure-grid">
            <tbody>
              {diff.images.map(row => (
                <tr key={row.path}>
                  <th scope="row" title={row.path}>
                    {figureName(row.path)}
                  </th>
                  {diff.runs.map((run, i) => (
                    <td key={run.run_id}>
                      {row.present[i] ? (
                        <Figure
                          model={model}
                          runId={run.run_id}
                          path={row.path}
                          label={`${figureName(row.path)} of ${runLabel(run)}`}
                        />
                      ) : (
                        '—'
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </Grid>
        </section>
      ) : null}
      <section className="jp-nbmlops-section" aria-label="Data">
        <h3>Data</h3>
        {diff.data.length === 0 ? (
          <p className="jp-nbmlops-empty">No data fingerprinted.</p>
        ) : (
          <Grid diff={diff}>
            <tbody>
              {diff.data.map(row => (
                <tr
                  key={`${row.name}:${row.context}`}
                  className={row.status === 'same' ? '' : 'jp-mod-differs'}
                >
                  <th scope="row" title={`${row.name} (${row.context})`}>
                    {dataName(row.name)} <span className="jp-nbmlops-context">{row.context}</span>
                  </th>
                  {row.fingerprints.map((f, i) => (
                    <td key={i}>
                      <code title={f ?? ''}>{f ? f.slice(0, 8) : '—'}</code>
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </Grid>
        )}
      </section>
      {diff.packages.length ? (
        <section className="jp-nbmlops-section" aria-label="Packages that differ">
          <h3>Packages</h3>
          <Grid diff={diff}>
            <tbody>
              {diff.packages.map(row => (
                <tr key={row.name} className="jp-mod-differs">
                  <th scope="row" title={row.name}>{row.name}</th>
                  {row.versions.map((v, i) => (
                    <td key={i}>{v ?? '—'}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </Grid>
        </section>
      ) : null}
      <section className="jp-nbmlops-section" aria-label="Code">
        <h3>Code</h3>
        {diff.code.map(c =>
          c.same ? (
            <p key={c.run_id} className="jp-nbmlops-empty">
              {diff.runs.length > 2 ? `${labelOf(c.run_id)}: same code as the baseline.` : 'Same code.'}
            </p>
          ) : c.missing ? (
            <p key={c.run_id} className="jp-nbmlops-empty">
              {labelOf(c.run_id)}: no code recorded here or in the baseline.
            </p>
          ) : (
            <pre key={c.run_id} className="jp-nbmlops-code jp-nbmlops-udiff">
              {c.diff.split('\n').map((line, i) => (
                <span
                  key={i}
                  className={
                    line.startsWith('+') && !line.startsWith('+++')
                      ? 'jp-mod-added'
                      : line.startsWith('-') && !line.startsWith('---')
                        ? 'jp-mod-removed'
                        : ''
                  }
                >
                  {line + '\n'}
                </span>
              ))}
            </pre>
          )
        )}
      </section>
    </div>
  );
}
