/**
 * Requests to the nbmlops server extension. The transport is injected (JupyterLab's
 * ServerConnection in the app, a fake in unit tests), so this file has no JupyterLab import.
 */
import type {
  Experiment,
  ExportRequest,
  ExportResult,
  JobInfo,
  MlflowUi,
  NotebookModels,
  NotebookInfo,
  NotebookMonitor,
  RunDetails,
  RunDiff,
  RunPage,
  RunQuery,
  SpoolStatus
} from './types';

export const API_PREFIX = 'nbmlops/api';

/** The part of a fetch Response the client reads. */
export interface ResponseLike {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  blob?(): Promise<Blob>;
}

/** Sends a request to `url` (already joined with the server's base URL). */
export type Transport = (url: string, init: RequestInit) => Promise<ResponseLike>;

/** A request the server refused, or that never reached it; `message` is for people. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly kind: string = ''
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Params = Record<string, string | string[] | number | null | undefined>;

/** `path?query` under the API prefix; empty values are left out, arrays repeat the key. */
export function apiUrl(baseUrl: string, path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === '') {
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      query.append(key, String(item));
    }
  }
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const text = query.toString();
  return `${base}${API_PREFIX}/${path}${text ? `?${text}` : ''}`;
}

/** The error message the server sent (`{"message": ...}`), else the raw text or status. */
export function errorMessage(status: number, body: string): { message: string; kind: string } {
  try {
    const data = JSON.parse(body) as { message?: unknown; error?: unknown; reason?: unknown };
    const message = data.message ?? data.reason;
    if (typeof message === 'string' && message) {
      return { message, kind: typeof data.error === 'string' ? data.error : '' };
    }
  } catch {
    /* not JSON */
  }
  const text = body.trim();
  return { message: text && text.length < 300 ? text : `HTTP ${status}`, kind: '' };
}

export class NbmlopsApi {
  constructor(
    private readonly baseUrl: string,
    private readonly transport: Transport
  ) {}

  get<T>(path: string, params: Params = {}): Promise<T> {
    return this.request<T>(path, params, { method: 'GET' });
  }

  /** POST `body` as JSON. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(path, {}, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' }
    });
  }

  private async request<T>(path: string, params: Params, init: RequestInit): Promise<T> {
    const url = apiUrl(this.baseUrl, path, params);
    let response: ResponseLike;
    try {
      response = await this.transport(url, init);
    } catch (error) {
      throw new ApiError(`Jupyter server unreachable: ${String(error)}`, 0, 'NetworkError');
    }
    const body = await response.text();
    if (!response.ok) {
      const { message, kind } = errorMessage(response.status, body);
      throw new ApiError(message, response.status, kind);
    }
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new ApiError(`not JSON from ${path}`, response.status, 'BadResponse');
    }
  }

  notebook(path: string | null): Promise<NotebookInfo> {
    return this.get<NotebookInfo>('notebook', { notebook: path });
  }

  experiments(notebook: string | null): Promise<Experiment[]> {
    return this.get<Experiment[]>('experiments', { notebook });
  }

  runs(query: RunQuery): Promise<RunPage> {
    return this.get<RunPage>('runs', {
      notebook: query.notebook,
      cell: query.cell,
      filter: query.filter,
      order_by: query.orderBy,
      page_size: query.pageSize,
      page_token: query.pageToken
    });
  }

  run(notebook: string | null, runId: string): Promise<RunDetails> {
    return this.get<RunDetails>(`runs/${encodeURIComponent(runId)}`, { notebook });
  }

  /** One image artifact of a run (a figure), as a Blob for an object URL: an <img> could
   * not send the token the server asks for. */
  async image(notebook: string | null, runId: string, path: string): Promise<Blob> {
    const url = apiUrl(this.baseUrl, `runs/${encodeURIComponent(runId)}/image`, {
      notebook,
      path
    });
    let response: ResponseLike;
    try {
      response = await this.transport(url, { method: 'GET' });
    } catch (error) {
      throw new ApiError(`Jupyter server unreachable: ${String(error)}`, 0, 'NetworkError');
    }
    if (!response.ok || !response.blob) {
      const { message, kind } = errorMessage(response.status, await response.text());
      throw new ApiError(message, response.status, kind);
    }
    return response.blob();
  }

  diff(notebook: string | null, runIds: string[]): Promise<RunDiff> {
    return this.get<RunDiff>('diff', { notebook, run: runIds });
  }

  /** Export the notebook as a job folder (`jobs/NAME/` beside it). */
  exportJob(request: ExportRequest): Promise<ExportResult> {
    return this.post<ExportResult>('export', request);
  }

  /** The models the notebook's cells registered, their versions and aliases. */
  models(notebook: string | null): Promise<NotebookModels> {
    return this.get<NotebookModels>('models', { notebook });
  }

  jobs(notebook: string): Promise<JobInfo[]> {
    return this.get<JobInfo[]>('jobs', { notebook });
  }

  /** The monitoring of the jobs exported from the notebook: champion, scoring runs, drift
   * per column over time, open alerts, last retraining. */
  monitor(notebook: string): Promise<NotebookMonitor> {
    return this.get<NotebookMonitor>('monitor', { notebook });
  }

  /** Start `nbmlops run` on the job in the background. */
  runJob(notebook: string, job: string, parameters: Record<string, string>): Promise<unknown> {
    return this.post('jobs/run', { notebook, job, parameters });
  }

  /** Install (or remove) the job's cron entry. */
  schedule(notebook: string, job: string, install: boolean): Promise<{ message: string }> {
    return this.post('jobs/schedule', { notebook, job, install });
  }

  /** The MLflow UI for the notebook's store, started by the server when none is known:
   * `starting` (no address yet) until it is up; ask again. */
  mlflowUi(notebook: string | null): Promise<MlflowUi> {
    return this.request<MlflowUi>('mlflow-ui', { notebook }, { method: 'POST', body: '{}' });
  }

  spool(notebook: string | null): Promise<SpoolStatus> {
    return this.get<SpoolStatus>('spool', { notebook });
  }
}
