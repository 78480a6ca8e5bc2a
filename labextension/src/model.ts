/**
 * The sidebar's state: the notebook it follows, a page of its runs, the run shown in detail,
 * the two runs selected for a diff, and the spool status. Views render it and call its
 * methods; it emits `changed` after every step. Free of DOM and JupyterLab: unit-tested.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, NbmlopsApi } from './api';
import { mlflowRunUrl } from './format';
import type {
  JobInfo,
  NotebookInfo,
  NotebookModels,
  NotebookMonitor,
  RunDetails,
  RunDiff,
  RunSummary,
  SpoolStatus
} from './types';

export type View = 'runs' | 'run' | 'diff' | 'jobs' | 'models' | 'monitor';

export const DEFAULT_PAGE_SIZE = 20;
/** At most this many runs side by side; one more selection drops the oldest. */
export const MAX_COMPARED = 8;
/** How long "Open in MLflow" waits for the UI the server starts (its own start takes seconds). */
export const MLFLOW_START_MS = 180000;

export class SidebarModel {
  constructor(private readonly api: NbmlopsApi) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  // -- state (read by the views) -----------------------------------------------------------
  notebook: string | null = null;
  info: NotebookInfo | null = null;
  cell: string | null = null;
  runs: RunSummary[] = [];
  nextPageToken: string | null = null;
  loading = false;
  error: string | null = null;
  selected: string[] = [];
  view: View = 'runs';
  details: RunDetails | null = null;
  diff: RunDiff | null = null;
  spool: SpoolStatus | null = null;
  jobs: JobInfo[] = [];
  /** The notebook's registered models; their champions' runs are marked in the list. */
  models: NotebookModels | null = null;
  /** The monitoring of the notebook's scoring jobs (the Monitor view). */
  monitor: NotebookMonitor | null = null;
  /** What the last job action said ("installed in the crontab…", "started"). */
  jobMessage: string | null = null;
  /** The experiment the listed runs are in, when it is not the notebook's own (a job's
   * output notebook, a renamed notebook, a notebook whose runs are all a pipeline's). */
  runsExperiment: string | null = null;
  spoolError: string | null = null;
  pageSize = DEFAULT_PAGE_SIZE;
  /** The server is starting MLflow's UI for "Open in MLflow". */
  mlflowStarting = false;
  /** The MLflow UI address from the settings; wins over the project's `ui_url`. */
  uiUrlSetting = '';

  get uiUrl(): string | null {
    return this.uiUrlSetting.trim() || this.info?.ui_url || null;
  }

  // -- actions -----------------------------------------------------------------------------

  /** Follow another notebook (null: none is active): its info and first page of runs. */
  async setNotebook(path: string | null): Promise<void> {
    if (path === this.notebook && this.info) {
      return;
    }
    this.notebook = path;
    this.info = null;
    this.cell = null;
    this.selected = [];
    this.view = 'runs';
    this.details = null;
    this.diff = null;
    await this.refresh();
  }

  /** Reload the notebook's info and the first page of runs. */
  async refresh(): Promise<void> {
    const generation = ++this._generation;
    this.runs = [];
    this.nextPageToken = null;
    if (this.notebook === null) {
      this.info = null;
      this.error = null;
      this.emit();
      return;
    }
    this.loading = true;
    this.error = null;
    this.emit();
    try {
      const info = await this.api.notebook(this.notebook);
      const page = await this.api.runs({
        notebook: this.notebook,
        cell: this.cell,
        pageSize: this.pageSize
      });
      // The registry is optional: a store without one still shows its runs.
      const models = await this.api.models(this.notebook).catch(() => null);
      if (generation !== this._generation) {
        return;
      }
      this.info = info;
      const shown = page.experiment?.name ?? null;
      this.runsExperiment = shown !== null && shown !== info.experiment ? shown : null;
      this.runs = page.runs;
      this.nextPageToken = page.next_page_token;
      this.models = models;
    } catch (error) {
      if (generation === this._generation) {
        this.error = messageOf(error);
      }
    } finally {
      if (generation === this._generation) {
        this.loading = false;
        this.emit();
      }
    }
  }

  /** Append the next page of (older) runs. */
  async loadMore(): Promise<void> {
    if (!this.nextPageToken || this.loading) {
      return;
    }
    const generation = this._generation;
    this.loading = true;
    this.emit();
    try {
      const page = await this.api.runs({
        notebook: this.notebook,
        cell: this.cell,
        pageSize: this.pageSize,
        pageToken: this.nextPageToken
      });
      if (generation !== this._generation) {
        return;
      }
      const known = new Set(this.runs.map(r => r.run_id));
      this.runs = [...this.runs, ...page.runs.filter(r => !known.has(r.run_id))];
      this.nextPageToken = page.next_page_token;
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      if (generation === this._generation) {
        this.loading = false;
        this.emit();
      }
    }
  }

  /** Show the runs of one tracked cell (its run name), or of all cells (null). */
  async setCell(cell: string | null): Promise<void> {
    if (cell === this.cell) {
      return;
    }
    this.cell = cell;
    this.selected = [];
    await this.refresh();
  }

  /** Select a run for comparison; past MAX_COMPARED, the oldest selection is dropped. */
  toggleSelected(runId: string): void {
    if (this.selected.includes(runId)) {
      this.selected = this.selected.filter(id => id !== runId);
    } else {
      this.selected = [...this.selected, runId].slice(-MAX_COMPARED);
    }
    this.emit();
  }

  async openRun(runId: string): Promise<void> {
    this.details = null;
    await this.show('run', async () => {
      this.details = await this.api.run(this.notebook, runId);
    });
  }

  /** The diff of the selected runs, a column each, the oldest one as the baseline. */
  async compare(): Promise<void> {
    if (this.selected.length < 2) {
      this.error = 'Select two or more runs to compare.';
      this.emit();
      return;
    }
    const order = new Map(this.runs.map(r => [r.run_id, r.start_time ?? 0]));
    const ids = [...this.selected].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    this.diff = null;
    await this.show('diff', async () => {
      this.diff = await this.api.diff(this.notebook, ids);
    });
  }

  /** The models whose champion version a run trained (`name vN`). */
  championOf(runId: string): string[] {
    const found: string[] = [];
    const champion = this.models?.champion ?? '';
    for (const m of this.models?.models ?? []) {
      if (this.models?.champion_runs[m.name] === runId) {
        found.push(`${m.name} v${m.aliases[champion] ?? '?'}`);
      }
    }
    return found;
  }

  /** Show the models the notebook registered. */
  async showModels(): Promise<void> {
    await this.show('models', async () => {
      this.models = await this.api.models(this.notebook);
    });
  }

  /** Show the monitoring of the jobs exported from the notebook. */
  async showMonitor(): Promise<void> {
    const notebook = this.notebook;
    if (notebook === null) {
      return;
    }
    await this.show('monitor', async () => {
      this.monitor = await this.api.monitor(notebook);
    });
  }

  /** Show the jobs exported from the notebook. */
  async showJobs(): Promise<void> {
    this.view = 'jobs';
    this.error = null;
    await this.loadJobs();
  }

  async loadJobs(): Promise<void> {
    if (this.notebook === null) {
      return;
    }
    this.loading = true;
    this.emit();
    try {
      this.jobs = await this.api.jobs(this.notebook);
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.loading = false;
      this.emit();
    }
  }

  /** Run a job now with `parameters` (as typed); the list follows its progress. */
  async runJob(job: string, parameters: Record<string, string>): Promise<void> {
    await this.jobAction(async notebook => {
      await this.api.runJob(notebook, job, parameters);
      return `${job}: started`;
    });
    this.followJobs(job, Date.now());
  }

  /** Refresh the Jobs view every two seconds while a job runs (its status, then its run);
   * once it has ended, the message says how it ended instead of "started". */
  private followJobs(job: string, since: number, delay = 2000): void {
    setTimeout(() => {
      if (this.view !== 'jobs') {
        return;
      }
      void this.loadJobs().then(() => {
        const young = Date.now() - since < 10000; // the run may not hold its lock yet
        if ((young || this.jobs.some(j => j.running)) && Date.now() - since < 3600000) {
          this.followJobs(job, since, delay);
        } else {
          this.jobEnded(job);
        }
      });
    }, delay);
  }

  /** The job's "started" message replaced by its last run's end. */
  jobEnded(job: string): void {
    if (this.jobMessage !== `${job}: started`) {
      return;
    }
    const info = this.jobs.find(j => j.name === job);
    const last = info?.runs[0];
    this.jobMessage = last
      ? `${job}: ${last.status.toLowerCase()}${last.duration_s !== null ? ` in ${last.duration_s.toFixed(1)} s` : ''}`
      : null;
    this.emit();
  }

  async setSchedule(job: string, install: boolean): Promise<void> {
    await this.jobAction(async notebook => (await this.api.schedule(notebook, job, install)).message);
  }

  private async jobAction(action: (notebook: string) => Promise<string>): Promise<void> {
    if (this.notebook === null) {
      return;
    }
    this.error = null;
    try {
      this.jobMessage = await action(this.notebook);
    } catch (error) {
      this.error = messageOf(error);
      this.jobMessage = null;
    }
    await this.loadJobs();
  }

  /** The run's page in MLflow: the configured UI, or one the server starts for this store
   * (asked again every `pollMs` while it starts, `mlflowStarting` meanwhile). */
  async mlflowRunUrl(experimentId: string, runId: string, pollMs = 1000): Promise<string> {
    let base = this.uiUrl;
    if (!base) {
      try {
        base = await this.startedMlflowUi(pollMs);
      } finally {
        this.mlflowStarting = false;
        this.emit();
      }
      if (this.info) {
        this.info = { ...this.info, ui_url: base };
      }
    }
    return mlflowRunUrl(base, experimentId, runId) ?? base;
  }

  private async startedMlflowUi(pollMs: number): Promise<string> {
    const deadline = Date.now() + MLFLOW_START_MS;
    for (;;) {
      const answer = await this.api.mlflowUi(this.notebook);
      if (answer.url) {
        return answer.url;
      }
      if (Date.now() > deadline) {
        throw new Error('MLflow did not start in time; try again');
      }
      if (!this.mlflowStarting) {
        this.mlflowStarting = true;
        this.emit();
      }
      await new Promise(resolve => setTimeout(resolve, pollMs));
    }
  }

  /** An image artifact of a run, for an object URL. */
  image(runId: string, path: string): Promise<Blob> {
    return this.api.image(this.notebook, runId, path);
  }

  /** Back to the runs, read again: a job run from the Jobs view may have added some. */
  async showRuns(): Promise<void> {
    this.back();
    await this.refresh();
  }

  showError(message: string): void {
    this.error = message;
    this.emit();
  }

  back(): void {
    this.view = 'runs';
    this.error = null;
    this.emit();
  }

  /** Milliseconds until the spool is worth asking again: soon while records wait or a
   * tracked cell has just run (the status line changes then), else rarely. */
  spoolPollDelay(now: number = Date.now()): number {
    const busy = (this.spool?.pending ?? 0) > 0 || now - this.trackedAt < 60000;
    return busy ? 1000 : 10000;
  }

  /** A tracked cell has just run: follow the spool closely for a while. */
  cellTracked(now: number = Date.now()): void {
    this.trackedAt = now;
  }

  async pollSpool(): Promise<void> {
    try {
      this.spool = await this.api.spool(this.notebook);
      this.spoolError = null;
    } catch (error) {
      this.spoolError = messageOf(error);
    }
    this.emit();
  }

  setSettings(uiUrl: string, pageSize: number): void {
    const sizeChanged = pageSize !== this.pageSize;
    this.uiUrlSetting = uiUrl;
    this.pageSize = Math.max(1, Math.min(200, Math.round(pageSize) || DEFAULT_PAGE_SIZE));
    if (sizeChanged && this.notebook !== null) {
      void this.refresh();
    } else {
      this.emit();
    }
  }

  /** Switch to `view` and fill it with `load`; its error becomes the view's message. */
  private async show(view: View, load: () => Promise<void>): Promise<void> {
    this.view = view;
    this.error = null;
    this.loading = true;
    this.emit();
    try {
      await load();
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.loading = false;
      this.emit();
    }
  }

  private emit(): void {
    this._changed.emit();
  }

  private trackedAt = 0;
  private _generation = 0;
  private readonly _changed = new Signal<this, void>(this);
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
