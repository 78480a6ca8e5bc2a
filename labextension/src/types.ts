/**
 * The types of the sidebar. The JSON the nbmlops server extension answers is typed in
 * ./generated/answers.ts, generated from its Python definitions (nbmlops/server/answers.py);
 * what is written here is the sidebar's own: the queries and requests it sends.
 */

export * from './generated/answers';

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
