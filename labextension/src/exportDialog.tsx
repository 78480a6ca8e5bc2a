/** The "Export Notebook as Job…" dialog: name, schedule (read out in words) and target; the
 * request goes to the server, which writes `jobs/NAME/` beside the notebook. An error the
 * server gives is shown in the dialog, which opens again with what was typed. */
import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';

import type { NbmlopsApi } from './api';
import {
  DEFAULT_SCHEDULE,
  EXPORT_TARGETS,
  ExportTarget,
  ExportValues,
  cronPreview,
  defaultJobName,
  exportRequest,
  exportSummary
} from './exportJob';
import type { ExportResult } from './types';

function ExportForm(props: {
  initial: ExportValues;
  error: string | null;
  onChange: (values: ExportValues) => void;
}): JSX.Element {
  const [values, setValues] = React.useState<ExportValues>(props.initial);
  const update = (change: Partial<ExportValues>): void => {
    const next = { ...values, ...change };
    setValues(next);
    props.onChange(next);
  };
  const preview = cronPreview(values.schedule);
  return (
    <div className="jp-nbmlops-export">
      <label htmlFor="jp-nbmlops-export-name">Job name</label>
      <input
        id="jp-nbmlops-export-name"
        className="jp-mod-styled"
        value={values.name}
        onChange={e => update({ name: e.target.value })}
      />
      <label htmlFor="jp-nbmlops-export-schedule">Schedule (cron)</label>
      <input
        id="jp-nbmlops-export-schedule"
        className="jp-mod-styled jp-nbmlops-export-cron"
        value={values.schedule}
        aria-describedby="jp-nbmlops-export-preview"
        aria-invalid={!preview.ok}
        onChange={e => update({ schedule: e.target.value })}
      />
      <div
        id="jp-nbmlops-export-preview"
        className={`jp-nbmlops-export-preview${preview.ok ? '' : ' jp-mod-invalid'}`}
        aria-live="polite"
      >
        {preview.text}
      </div>
      <label htmlFor="jp-nbmlops-export-target">Target</label>
      <select
        id="jp-nbmlops-export-target"
        className="jp-mod-styled"
        value={values.target}
        onChange={e => update({ target: e.target.value as ExportTarget })}
      >
        {EXPORT_TARGETS.map(t => (
          <option key={t.value} value={t.value}>
            {t.label}
          </option>
        ))}
      </select>
      {props.error ? (
        <div className="jp-nbmlops-error jp-nbmlops-export-error" role="alert">
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

class ExportBody extends ReactWidget implements Dialog.IBodyWidget<ExportValues> {
  private values: ExportValues;

  constructor(
    initial: ExportValues,
    private readonly error: string | null
  ) {
    super();
    this.values = initial;
  }

  getValue(): ExportValues {
    return this.values;
  }

  protected render(): JSX.Element {
    return (
      <ExportForm
        initial={this.values}
        error={this.error}
        onChange={values => (this.values = values)}
      />
    );
  }
}

/** Ask for the job's settings and export `notebook`; the result, or null when cancelled. */
export async function exportNotebookAsJob(
  api: NbmlopsApi,
  notebook: string
): Promise<ExportResult | null> {
  let values: ExportValues = {
    name: defaultJobName(notebook),
    schedule: DEFAULT_SCHEDULE,
    target: 'cron'
  };
  let error: string | null = null;
  for (;;) {
    const answer = await showDialog<ExportValues>({
      title: `Export ${notebook.split('/').pop() ?? notebook} as a job`,
      body: new ExportBody(values, error),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Export' })],
      focusNodeSelector: '#jp-nbmlops-export-name'
    });
    if (!answer.button.accept || answer.value === null) {
      return null;
    }
    values = answer.value;
    const preview = cronPreview(values.schedule);
    if (!preview.ok) {
      error = preview.text;
      continue;
    }
    try {
      const result = await api.exportJob(exportRequest(notebook, values));
      await showDialog({
        title: 'Job exported',
        body: (
          <div className="jp-nbmlops-export-done" role="status">
            {exportSummary(result).map((line, i) => (
              <p key={i}>{line}</p>
            ))}
          </div>
        ),
        buttons: [Dialog.okButton()]
      });
      return result;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
  }
}
