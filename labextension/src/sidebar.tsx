/** The "MLOps" left panel: header (notebook, experiment), spool status, and one of the run
 * list, a run's details or a diff. */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { DiffView } from './diffView';
import type { SidebarModel } from './model';
import { RunDetailsView } from './runDetails';
import { CellFilter, RunList } from './runList';
import { SpoolIndicator } from './spoolIndicator';

function Body(props: { model: SidebarModel; onExport?: () => void }): JSX.Element {
  const { model, onExport } = props;
  if (model.notebook === null) {
    return <p className="jp-nbmlops-empty">Open a notebook to see its tracked runs.</p>;
  }
  let main: JSX.Element | null = null;
  if (model.view === 'run' && model.details) {
    main = <RunDetailsView model={model} details={model.details} />;
  } else if (model.view === 'diff' && model.diff) {
    main = <DiffView model={model} diff={model.diff} />;
  } else if (model.view === 'runs') {
    main = <RunList model={model} />;
  }
  return (
    <>
      <header className="jp-nbmlops-header">
        <div className="jp-nbmlops-notebook" title={model.notebook}>
          {model.notebook.split('/').pop()}
        </div>
        {model.info ? (
          <div className="jp-nbmlops-experiment" title={model.info.tracking_uri}>
            experiment <b>{model.info.experiment}</b>
          </div>
        ) : null}
        {model.view === 'runs' ? <CellFilter model={model} /> : null}
        {onExport ? (
          <button
            className="jp-mod-styled jp-nbmlops-export-button"
            aria-label="Export this notebook as a scheduled job"
            title="Export this notebook as a scheduled job"
            onClick={onExport}
          >
            Export as job…
          </button>
        ) : null}
      </header>
      <SpoolIndicator model={model} />
      {model.error ? (
        <div className="jp-nbmlops-error" role="alert">
          {model.error}
          {model.view !== 'runs' ? (
            <button className="jp-mod-styled" onClick={() => model.back()}>
              Back
            </button>
          ) : null}
        </div>
      ) : null}
      {model.loading ? (
        <div className="jp-nbmlops-loading" role="progressbar" aria-label="Loading" />
      ) : null}
      {main}
    </>
  );
}

export class Sidebar extends ReactWidget {
  constructor(
    readonly model: SidebarModel,
    private readonly onExport?: () => void
  ) {
    super();
    this.addClass('jp-nbmlops-sidebar');
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <Body model={this.model} onExport={this.onExport} />}
      </UseSignal>
    );
  }
}
