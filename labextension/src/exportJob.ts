/**
 * The pure parts of "Export Notebook as Job…": the cron expression read out in words, the
 * request sent to `POST export` and the summary shown once the job folder is written. No
 * JupyterLab import, so jest tests them directly.
 */
import { toString as describeCron } from 'cronstrue';

import type { ExportRequest, ExportResult } from './types';

/** The schedulers a job folder can carry a file for (TARGETS of nbmlops/jobs/targets). */
export const EXPORT_TARGETS = [
  { value: 'cron', label: 'cron (crontab entry)' },
  { value: 'airflow', label: 'Airflow (DAG)' },
  { value: 'kubernetes', label: 'Kubernetes (CronJob and its image)' },
  { value: 'github', label: 'GitHub Actions (workflow)' }
] as const;

export type ExportTarget = (typeof EXPORT_TARGETS)[number]['value'];

export const DEFAULT_SCHEDULE = '0 3 * * *';

/** What the dialog's fields hold. */
export interface ExportValues {
  name: string;
  schedule: string;
  target: ExportTarget;
}

export interface CronPreview {
  ok: boolean;
  /** "At 03:00, only on Monday" or why the expression is not valid. */
  text: string;
}

/** The cron expression in words; `ok` false (with the reason) when it is not five valid
 * fields, as the server requires (minute hour day-of-month month day-of-week). */
export function cronPreview(expression: string): CronPreview {
  const expr = expression.trim().split(/\s+/).filter(Boolean).join(' ');
  if (!expr) {
    return { ok: false, text: 'Give a cron expression, e.g. 0 3 * * 1' };
  }
  const fields = expr.split(' ').length;
  if (fields !== 5) {
    return {
      ok: false,
      text: `Five fields are needed (minute hour day-of-month month day-of-week), not ${fields}`
    };
  }
  try {
    return {
      ok: true,
      text: describeCron(expr, { throwExceptionOnParseError: true, use24HourTimeFormat: true })
    };
  } catch (error) {
    const message = String(error instanceof Error ? error.message : error).replace(
      /^Error:\s*/,
      ''
    );
    return { ok: false, text: `Not a valid cron expression: ${message}` };
  }
}

/** The job name proposed for a notebook path: its file name without `.ipynb`, made of the
 * characters a job folder name may have. */
export function defaultJobName(notebookPath: string): string {
  const file = notebookPath.split('/').pop() ?? '';
  const stem = file.replace(/\.ipynb$/i, '');
  const name = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return name || 'job';
}

/** The body of `POST export` for the notebook at `notebook` (relative to the server root). */
export function exportRequest(notebook: string, values: ExportValues): ExportRequest {
  const request: ExportRequest = { notebook, targets: [values.target] };
  const name = values.name.trim();
  if (name) {
    request.name = name;
  }
  request.schedule = values.schedule.trim().split(/\s+/).join(' ');
  return request;
}

/** The lines shown once the job is written: where, and what to know. */
export function exportSummary(result: ExportResult): string[] {
  const lines = [
    `${result.created ? 'Job folder written' : 'Job folder updated'}: ${result.folder}/`
  ];
  if (result.schedule.cron) {
    lines.push(
      `Schedule: ${result.schedule.cron} (${result.schedule.timezone}) for ` +
        `${result.schedule.targets.join(', ')}`
    );
  }
  lines.push(`Files: ${result.files.join(', ')}`);
  if (result.parameters.length) {
    lines.push(`Parameters: ${result.parameters.join(', ')}`);
  }
  return [...lines, ...result.changes, ...result.notes, ...result.warnings, ...nextSteps(result)];
}

/** What to do next: a job does not run until someone runs or installs it. */
export function nextSteps(result: ExportResult): string[] {
  const steps = [`Next: run it once with "Run now" in the sidebar's Jobs view, or nbmlops run ${result.folder}`];
  if (result.schedule.cron && result.schedule.targets.includes('cron')) {
    steps.push(
      `The schedule is not installed yet: "Install" in the Jobs view, or nbmlops schedule ${result.folder} --install`
    );
  }
  return steps;
}
