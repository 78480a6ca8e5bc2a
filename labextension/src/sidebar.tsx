/** The "MLOps" left panel: header (notebook, experiment), spool status, and one of the run
 * list, a run's details or a diff. */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { DiffView } from './diffView';
import { JobsView } from './jobsView';
import { ModelsView } from './modelsView';
import { MonitorView } from './monitorView';
import type { SidebarModel } from './model';
import { RunDetailsView } from './runDetails';
import { CellFilter, RunList } from './runList';
import { SpoolIndicator } from './spoolIndicator';

/** What the sidebar asks of JupyterLab. */
export interface SidebarActions {
  onExport?: () => void;
  /** Open a file of the server's root (an output notebook) in JupyterLab. */
  openFile?: (path: string) => void;
}

function Body(props: { model: SidebarModel; actions: SidebarActions }): JSX.Element {
  const { model } = props;
  const { onExport, openFile } = props.actions;
  if (model.notebook === null) {
    return <p className="jp-nbmlops-empty">Open a notebook to see its tracked runs.</p>;
  }
  let main: JSX.Element | null = null;
  if (model.view === 'run' && model.details) {
    main = <RunDetailsView model={model} details={model.details} />;
  } else if (model.view === 'diff' && model.diff) {
    main = <DiffView model={model} diff={model.diff} />;
  } else if (model.view === 'models') {
    main = <ModelsView model={model} />;
  } else if (model.view === 'monitor') {
    main = <MonitorView model={model} />;
  } else if (model.view === 'jobs') {
    main = <JobsView model={model} openOutput={openFile} />;
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
            {model.runsExperiment ? (
              <span className="jp-nbmlops-runs-from">
                runs from <b>{model.runsExperiment}</b>
              </span>
            ) : null}
          </div>
        ) : null}
        {model.view === 'runs' ? <CellFilter model={model} /> : null}
        <div className="jp-nbmlops-header-actions">
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
          <button
            className="jp-mod-styled"
            aria-label="Jobs of this notebook"
            title="The jobs exported from this notebook: schedules, last runs, Run now"
            aria-pressed={model.view === 'jobs'}
            onClick={() => void (model.view === 'jobs' ? model.showRuns() : model.showJobs())}
          >
            Jobs
          </button>
          <button
            className="jp-mod-styled"
            aria-label="Models of this notebook"
            title="The models this notebook registered: versions, aliases, gates"
            aria-pressed={model.view === 'models'}
            onClick={() => void (model.view === 'models' ? model.showRuns() : model.showModels())}
          >
            Models
          </button>
          <button
            className="jp-mod-styled"
            aria-label="Monitoring of this notebook's jobs"
            title="The scoring jobs of this notebook: champion, drift per column over time, open alerts, last retraining"
            aria-pressed={model.view === 'monitor'}
            onClick={() => void (model.view === 'monitor' ? model.showRuns() : model.showMonitor())}
          >
            Monitor
          </button>
        </div>
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
    private readonly actions: SidebarActions = {}
  ) {
    super();
    this.addClass('jp-nbmlops-sidebar');
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <Body model={this.model} actions={this.actions} />}
      </UseSignal>
    );
  }
}
