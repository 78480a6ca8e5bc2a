/**
 * The JSON the nbmlops server extension sends (nbmlops/server/handlers.py), as TypeScript
 * types. Field names are the Python dataclasses' (nbmlops/query.py, nbmlops/rundiff.py).
 */

export interface TrackedCell {
  index: number;
  cell_id: string | null;
  run_name: string;
  named: boolean;
  experiment: string | null;
  first_line: string;
}

export interface NotebookInfo {
  path: string | null;
  experiment: string;
  tracking_uri: string;
  ui_url: string | null;
  cells: TrackedCell[];
}

/** `POST mlflow-ui`: the MLflow UI of the notebook's store, or that it is still starting. */
export interface MlflowUi {
  state: 'ready' | 'starting';
  url: string | null;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
  creation_time: number | null;
  last_update_time: number | null;
  tags: Record<string, string>;
}

export interface Dataset {
  name: string;
  digest: string;
  fingerprint: string;
  short: string;
  context: string;
  kind: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

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
  duration_s: number | null;
  code_sha: string | null;
  /** Read from the run's tags by the server (nbmlops.store names them). */
  python: string | null;
  git_commit: string | null;
  git_dirty: boolean;
  error: string | null;
  /** The job run this run is nested under (`nbmlops run`), if any. */
  parent_run_id?: string | null;
  /** The job's name, on a job's parent run. */
  job?: string | null;
  /** Names of the params papermill or `nbmlops run` injected. */
  injected_params?: string[];
  /** The notebook execution (a kernel session, or a job run) the run belongs to. */
  group?: string | null;
  /** Whether the cell's inputs came from the code as it stands: clean, stale, unsure. */
  slice_verdict?: string | null;
  slice_reasons?: string[];
  /** `nbmlops reproduce`'s verdict: yes, within-tolerance, no. */
  reproduced?: string | null;
  /** On a run `nbmlops reproduce` made: the id of the run it reproduces. */
  reproduces?: string | null;
  /** On a pipeline step's run: the step's name. */
  step?: string | null;
  /** A hyperparameter search's best candidates (nested runs), best first. */
  candidates?: RunSummary[];
  /** On a search's candidate run: its rank (1 = best) and the search's variable. */
  candidate_rank?: number | null;
  candidate_of?: string | null;
}

export interface RunPage {
  experiment: Experiment | null;
  runs: RunSummary[];
  next_page_token: string | null;
  order_by: string[];
  filter: string;
}

export interface MetricPoint {
  name: string;
  value: number | null;
  step: number;
  timestamp_ms: number | null;
}

export interface RunDetails {
  run: RunSummary;
  metric_history: Record<string, MetricPoint[]>;
  artifacts: string[];
  code: string | null;
  requirements: Record<string, string>;
  url: string | null;
  /** The data checks' findings since the cell's previous run (absent from older servers). */
  drift?: DriftAlert[];
  /** Artifacts a browser can show, the cell's figures first. */
  images?: string[];
  /** Interactive figures (plotly, Altair) recorded as HTML pages. */
  figure_pages?: string[];
}

/** One drift or schema finding of the data checks (nbmlops/query.py DriftAlert). */
export interface DriftAlert {
  name: string;
  context: string;
  kind: string;
  column: string | null;
  message: string;
  line: string;
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

export interface DataRow {
  name: string;
  context: string;
  fingerprints: (string | null)[];
  status: 'same' | 'changed' | 'missing';
}

export interface PackageRow {
  name: string;
  versions: (string | null)[];
}

export interface CodeDiff {
  run_id: string;
  baseline_run_id: string;
  same: boolean;
  diff: string;
  missing: boolean;
}

/** One image artifact across the compared runs. */
export interface ImageRow {
  path: string;
  present: boolean[];
}

export interface RunDiff {
  runs: RunSummary[];
  images?: ImageRow[];
  params: ParamRow[];
  metrics: MetricRow[];
  data: DataRow[];
  packages: PackageRow[];
  code: CodeDiff[];
}

export interface SpoolStatus {
  spool: string;
  pending: number;
  oldest_pending_age_s: number | null;
  running: boolean;
  failing: boolean;
  last_error: string | null;
  last_error_at: number | null;
  last_success_at: number | null;
  failed: number;
}

/** One job exported from the notebook (nbmlops/server/jobs.py). */
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
  /** The output notebook, relative to the server's root; null when it is gone. */
  output: string | null;
  error: string | null;
  /** What its tracked cells logged (a one-notebook job's). */
  metrics?: Record<string, number | null>;
  /** A pipeline's steps in this run, in step order. */
  steps?: JobStepRun[];
}

/** What one step of a pipeline did in one run (SKIPPED: it was up to date). */
export interface JobStepRun {
  name: string;
  status: string;
  duration_s: number | null;
  output: string | null;
  metrics: Record<string, number | null>;
  run_id: string | null;
}

/** A step of a pipeline job, with its last run's status (SKIPPED: it was up to date). */
export interface JobStep {
  name: string;
  needs: string[];
  status: string | null;
  run_id: string | null;
}

export interface JobInfo {
  name: string;
  folder: string;
  schedule: { cron: string | null; timezone: string; words: string | null; targets: string[] };
  installed: boolean;
  files: string[];
  next_run: string | null;
  running: boolean;
  parameters: JobParameter[];
  runs: JobRun[];
  runs_error: string | null;
  /** A pipeline's steps in run order; empty for a one-notebook job. */
  steps?: JobStep[];
}

/** A registered model version (nbmlops/models/registry.py `VersionInfo.to_dict`). */
export interface ModelVersion {
  name: string;
  version: string;
  run_id: string | null;
  created: number;
  aliases: string[];
  notebook: string | null;
  metrics: Record<string, number>;
  data: Record<string, string>;
  history: Record<string, { since?: number; until?: number | null; by?: string; how?: string }[]>;
  code_sha: string | null;
  author: string | null;
  /** One line: the last gate report's summary. */
  gates: string | null;
  /** The evaluation report's artifact path in the version's run. */
  report: string | null;
}

export interface RegisteredModel {
  name: string;
  aliases: Record<string, string>;
  versions: ModelVersion[];
}

export interface NotebookModels {
  notebook: string | null;
  models: RegisteredModel[];
  /** Model name -> the run of its champion version. */
  champion_runs: Record<string, string>;
}

/** Query of one page of runs. */
export interface RunQuery {
  notebook: string | null;
  cell?: string | null;
  filter?: string;
  orderBy?: string[];
  pageSize: number;
  pageToken?: string | null;
}

/** What `POST export` takes (nbmlops/server/handlers.py `export_notebook`). */
export interface ExportRequest {
  notebook: string;
  name?: string;
  schedule?: string;
  timezone?: string;
  targets?: string[];
  force?: boolean;
}

/** What `POST export` answers: the job folder, relative to the server's root. */
export interface ExportResult {
  name: string;
  folder: string;
  files: string[];
  created: boolean;
  schedule: { cron: string | null; timezone: string; targets: string[] };
  parameters: string[];
  warnings: string[];
  notes: string[];
  changes: string[];
}
