/**
 * The JSON answers of the nbmlops server extension, generated from their Python definitions
 * (nbmlops/server/answers.py) by `python -m nbmlops.server.typescript`: do not edit.
 */

/** `GET notebook`: where the notebook's runs go, as the browser may see it. */
export interface NotebookInfo {
  path: string | null;
  experiment: string;
  tracking_uri: string;
  ui_url: string | null;
  cells: TrackedCell[];
}

/** A `%%track` cell of the notebook, as its runs will be named. */
export interface TrackedCell {
  index: number;
  cell_id: string | null;
  run_name: string;
  named: boolean;
  experiment: string | null;
  first_line: string;
  options: Record<string, unknown> | null;
  problem: string | null;
}

/** An MLflow experiment (for nbmlops: one notebook). */
export interface Experiment {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
  artifact_location: string;
  creation_time: number | null;
  last_update_time: number | null;
  tags: Record<string, string>;
}

/** One page of an experiment's runs; `next_page_token` is None on the last page. */
export interface RunPage {
  experiment: Experiment | null;
  runs: RunSummary[];
  next_page_token: string | null;
  order_by: string[];
  filter: string;
}

/** What a table row needs: the run's attributes, params, latest metrics, tags, data. */
export interface RunSummary {
  run_id: string;
  run_name: string;
  experiment_id: string;
  status: string;
  start_time: number | null;
  end_time: number | null;
  params: Record<string, string>;
  metrics: Record<string, number | null>;
  tags: Record<string, string>;
  datasets: Dataset[];
  candidates: RunSummary[];
  duration_s: number | null;
  code_sha: string | null;
  python: string | null;
  git_commit: string | null;
  git_dirty: boolean;
  error: string | null;
  parent_run_id: string | null;
  job: string | null;
  group: string | null;
  injected_params: string[];
  slice_verdict: string | null;
  slice_reasons: string[];
  reproduced: string | null;
  reproduces: string | null;
  step: string | null;
  candidate_rank: number | null;
  candidate_of: string | null;
}

/** One data version a run read or wrote (an MLflow dataset input). */
export interface Dataset {
  name: string;
  digest: string;
  fingerprint: string;
  context: string;
  kind: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
  short: string;
}

/** `GET runs/ID`: the run in full, with its page in the MLflow UI. */
export interface RunDetails {
  run: RunSummary;
  metric_history: Record<string, MetricPoint[]>;
  artifacts: string[];
  code: string | null;
  requirements: Record<string, string>;
  drift: DriftAlert[];
  url: string | null;
  images: string[];
  figure_pages: string[];
}

export interface MetricPoint {
  name: string;
  value: number | null;
  step: number;
  timestamp_ms: number;
}

/** One finding of the data checks: `raw.amount: mean 101 → 121 (PSI 0.97, KS 0.39)`. */
export interface DriftAlert {
  name: string;
  context: string;
  kind: string;
  column: string | null;
  message: string;
  line: string;
}

export interface RunDiff {
  runs: RunSummary[];
  params: ParamRow[];
  metrics: MetricRow[];
  data: DataRow[];
  packages: PackageRow[];
  code: CodeDiff[];
  images: ImageRow[];
}

export interface ParamRow {
  name: string;
  values: (string | null)[];
  differs: boolean;
}

export interface MetricRow {
  name: string;
  values: (number | null)[];
  direction: 'min' | 'max' | null;
  best: number[];
  differs: boolean;
}

/** One dataset, by name and role (`input` / `output`), across the runs. */
export interface DataRow {
  name: string;
  context: string;
  fingerprints: (string | null)[];
  status: 'same' | 'changed' | 'missing';
  drift: string[][];
}

export interface PackageRow {
  name: string;
  versions: (string | null)[];
}

/** The cell's code of `run_id` against the baseline's; `diff` is a unified diff, empty when the code is the same. */
export interface CodeDiff {
  run_id: string;
  baseline_run_id: string;
  same: boolean;
  diff: string;
  missing: boolean;
}

/** One image (a figure, by its artifact path) across the runs. */
export interface ImageRow {
  path: string;
  present: boolean[];
}

/** `GET spool`: :func:`nbmlops.sync.worker.status`, its paths as the browser may see them (built with `**status`, so a key the worker adds must be named here). */
export interface SpoolStatus {
  spool: string;
  pending: number;
  oldest_pending_age_s: number | null;
  running: boolean;
  pid: number | null;
  failing: boolean;
  last_error: string | null;
  last_error_at: number | null;
  last_success_at: number | null;
  last_run_url: string | null;
  uploaded_total: number;
  failed: number;
  log: string;
  advice: string | null;
  unreadable: string | null;
}

/** `GET models`: the models the notebook's cells registered. */
export interface NotebookModels {
  notebook: string | null;
  models: RegisteredModel[];
  champion_runs: Record<string, string>;
  champion: string;
}

export interface RegisteredModel {
  name: string;
  aliases: Record<string, string>;
  versions: ModelVersion[];
}

/** A registered version: :meth:`nbmlops.models.registry.VersionInfo.to_dict`, built with `**to_dict()` so the two cannot drift apart. */
export interface ModelVersion {
  name: string;
  version: string;
  run_id: string | null;
  created: number;
  aliases: string[];
  notebook: string | null;
  metrics: Record<string, number | null>;
  data: Record<string, string>;
  history: Record<string, Reign[]>;
  code_sha: string | null;
  author: string | null;
  gates: string | null;
  report: string | null;
}

/** One time a version held an alias (:mod:`nbmlops.sync.aliases` writes them). */
export interface Reign {
  since?: number;
  until?: number | null;
  by?: string;
  how?: string;
}

/** `POST export`: the job folder written, relative to the server's root. */
export interface ExportResult {
  name: string;
  folder: string;
  files: string[];
  created: boolean;
  schedule: ExportSchedule;
  parameters: string[];
  warnings: string[];
  notes: string[];
  changes: string[];
}

export interface ExportSchedule {
  cron: string | null;
  timezone: string;
  targets: string[];
}

/** What "Open in MLflow" gets at once: the UI's address, or that it is still starting (ask again). */
export interface MlflowUi {
  state: 'ready' | 'starting';
  url: string | null;
}

/** `GET jobs`: one job exported from the notebook. Its runs' and steps' output notebooks are relative to the server's root (None when gone). */
export interface JobInfo {
  name: string;
  folder: string;
  schedule: JobSchedule;
  installed: boolean;
  files: string[];
  next_run: string | null;
  running: boolean;
  parameters: JobParameter[];
  runs: JobRun[];
  runs_error: string | null;
  steps: JobStep[];
}

export interface JobSchedule {
  cron: string | null;
  timezone: string;
  words: string | null;
  targets: string[];
}

/** One parameter of a job: what papermill injects and `nbmlops run -p` checks. */
export interface JobParameter {
  name: string;
  type: string;
  default: unknown;
  help: string;
}

export interface JobRun {
  run_id: string;
  status: string;
  start_time: number | null;
  duration_s: number | null;
  output: string | null;
  error: string | null;
  metrics: Record<string, number | null>;
  steps: JobStepRun[];
}

/** What one step did in one run of a pipeline. */
export interface JobStepRun {
  name: string;
  status: string;
  duration_s: number | null;
  output: string | null;
  metrics: Record<string, number | null>;
  run_id: string | null;
}

/** A pipeline step as the Jobs view draws it: its needs and its last run's status. */
export interface JobStep {
  name: string;
  needs: string[];
  status: string | null;
  run_id: string | null;
}

/** `POST jobs/run`: the job runs in the background. */
export interface JobStarted {
  started: boolean;
  job: string;
}

/** `POST jobs/schedule`: what was done, in words. */
export interface Message {
  message: string;
}

/** `GET monitor?notebook=PATH`: the monitoring of each job exported from the notebook (:mod:`nbmlops.jobs.monitor_overview`), its folder relative to the server's root. */
export interface NotebookMonitor {
  notebook: string;
  jobs: JobMonitor[];
  champion: string;
}

/** A scoring job's monitoring overview. */
export interface JobMonitor {
  job: string;
  folder: string;
  model: string | null;
  champion: string | null;
  champion_run_id: string | null;
  experiment_id: string | null;
  runs: ScoredRun[];
  columns: ColumnSeries[];
  alerts: MonitorAlert[];
  retraining: Retraining | null;
  error: string | null;
  attention: boolean;
}

/** One scoring run: the version it scored with and what drifted. */
export interface ScoredRun {
  run_id: string;
  experiment_id: string;
  when: string;
  status: string;
  version: string;
  compared: boolean;
  drifted: boolean;
  drifted_columns: string[];
  drift_share: number | null;
  rows: number | null;
  job_run_id: string | null;
}

/** One column's drift statistic over the scoring runs, oldest first (None: not measured in that run). */
export interface ColumnSeries {
  column: string;
  statistic: string;
  values: (number | null)[];
  drifted: boolean[];
}

/** An alert of the newest run of the job: open until a later run raises none. */
export interface MonitorAlert {
  kind: string;
  title: string;
  job_run_id: string;
  when: string;
  deliveries: string[];
}

/** The last time drift started the training job, and what became of it. */
export interface Retraining {
  job_run_id: string;
  when: string;
  decision: string;
  reason: string | null;
  training_run_id: string | null;
  outcome: string | null;
}

/** Any refused request (4xx): the message for people and the error's class name. */
export interface ErrorAnswer {
  message: string;
  error: string;
}

/** `notebook` */
export type NotebookAnswer = NotebookInfo;

/** `experiments` */
export type ExperimentsAnswer = Experiment[];

/** `runs` */
export type RunsAnswer = RunPage;

/** `runs/(?P<run_id>[0-9A-Za-z_-]+)` */
export type RunAnswer = RunDetails;

/** `diff` */
export type DiffAnswer = RunDiff;

/** `spool` */
export type SpoolAnswer = SpoolStatus;

/** `models` */
export type ModelsAnswer = NotebookModels;

/** `export` */
export type ExportAnswer = ExportResult;

/** `mlflow-ui` */
export type MlflowUiAnswer = MlflowUi;

/** `jobs` */
export type JobsAnswer = JobInfo[];

/** `jobs/run` */
export type JobsRunAnswer = JobStarted;

/** `jobs/schedule` */
export type JobsScheduleAnswer = Message;

/** `monitor` */
export type MonitorAnswer = NotebookMonitor;

/** Any refused request. */
export type ErrorBody = ErrorAnswer;
