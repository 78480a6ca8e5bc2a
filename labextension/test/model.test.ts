import { NbmlopsApi } from '../src/api';
import type { ResponseLike } from '../src/api';
import { MAX_COMPARED, SidebarModel } from '../src/model';

function run(id: string, start: number): Record<string, unknown> {
  return { run_id: id, run_name: 'fit', start_time: start, metrics: {}, params: {} };
}

/** A fake server: answers by path, records every URL asked for. */
function fakeApi(pages: Record<string, unknown>[]): { api: NbmlopsApi; urls: string[] } {
  const urls: string[] = [];
  let page = 0;
  const api = new NbmlopsApi('/', async (url): Promise<ResponseLike> => {
    urls.push(url);
    const path = url.split('?')[0];
    let body: unknown = {};
    if (path === '/nbmlops/api/notebook') {
      body = { experiment: 'nb.ipynb', cells: [], ui_url: null, tracking_uri: '', path: 'nb' };
    } else if (path === '/nbmlops/api/runs') {
      body = pages[Math.min(page++, pages.length - 1)];
    } else if (path === '/nbmlops/api/models') {
      body = {
        notebook: 'nb.ipynb',
        // the alias naming the model in use comes from the server, whatever it is named
        models: [{ name: 'iris', aliases: { production: '1', champion: '2' }, versions: [] }],
        champion_runs: { iris: 'b' },
        champion: 'production'
      };
    } else if (path === '/nbmlops/api/diff') {
      body = { runs: [], params: [], metrics: [], data: [], packages: [], code: [] };
    }
    return { ok: true, status: 200, text: async () => JSON.stringify(body) };
  });
  return { api, urls };
}

describe('SidebarModel', () => {
  it('follows a notebook, then pages through older runs', async () => {
    const { api, urls } = fakeApi([
      { runs: [run('b', 2), run('a', 1)], next_page_token: 't1' },
      { runs: [run('a', 1), run('z', 0)], next_page_token: null }
    ]);
    const model = new SidebarModel(api);
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.setNotebook('nb.ipynb');
    expect(model.info?.experiment).toBe('nb.ipynb');
    expect(model.runs.map(r => r.run_id)).toEqual(['b', 'a']);
    await model.loadMore();
    expect(model.runs.map(r => r.run_id)).toEqual(['b', 'a', 'z']);
    expect(model.nextPageToken).toBeNull();
    expect(urls.some(u => u.includes('page_token=t1'))).toBe(true);
    expect(changes).toBeGreaterThan(2);
  });

  it('compares every selected run, oldest first, and drops the oldest past the limit', async () => {
    const ids = 'abcdefghij'.split('');
    const { api, urls } = fakeApi([
      { runs: ids.map((id, i) => run(id, 100 - i)), next_page_token: null }
    ]);
    const model = new SidebarModel(api);
    await model.setNotebook('nb.ipynb');
    model.toggleSelected('c');
    model.toggleSelected('a');
    model.toggleSelected('b');
    expect(model.selected).toEqual(['c', 'a', 'b']);
    model.toggleSelected('b');
    await model.compare();
    expect(model.view).toBe('diff');
    // a is the newest (start 100), c older: the baseline is the oldest.
    expect(urls[urls.length - 1]).toBe('/nbmlops/api/diff?notebook=nb.ipynb&run=c&run=a');
    for (const id of ids) {
      if (!model.selected.includes(id)) {
        model.toggleSelected(id);
      }
    }
    expect(model.selected.length).toBe(MAX_COMPARED);
    expect(model.selected).not.toContain('c');
  });

  it('asks the spool every second while records wait or just after a tracked cell', () => {
    const { api } = fakeApi([]);
    const model = new SidebarModel(api);
    expect(model.spoolPollDelay(1e6)).toBe(10000);
    model.cellTracked(1e6);
    expect(model.spoolPollDelay(1e6 + 5000)).toBe(1000);
    expect(model.spoolPollDelay(1e6 + 61000)).toBe(10000);
    model.spool = {
      spool: '', pending: 2, oldest_pending_age_s: 1, running: true, pid: 1, failing: false,
      last_error: null, last_error_at: null, last_success_at: null, last_run_url: null,
      uploaded_total: 0, failed: 0, log: '', advice: null, unreadable: null
    };
    expect(model.spoolPollDelay(1e6 + 61000)).toBe(1000);
  });

  it("marks the run that trained a model's champion", async () => {
    const { api } = fakeApi([{ runs: [run('b', 2), run('a', 1)], next_page_token: null }]);
    const model = new SidebarModel(api);
    await model.setNotebook('nb.ipynb');
    expect(model.championOf('b')).toEqual(['iris v1']);
    expect(model.championOf('a')).toEqual([]);
  });

  it('asks for two runs before comparing', async () => {
    const { api } = fakeApi([{ runs: [], next_page_token: null }]);
    const model = new SidebarModel(api);
    await model.compare();
    expect(model.error).toContain('two or more runs');
    expect(model.view).toBe('runs');
  });

  it('shows a server error as a message and keeps no stale runs', async () => {
    const api = new NbmlopsApi('/', async () => ({
      ok: false,
      status: 424,
      text: async () => '{"message": "cannot read MLflow", "error": "QueryError"}'
    }));
    const model = new SidebarModel(api);
    await model.setNotebook('nb.ipynb');
    expect(model.error).toBe('cannot read MLflow');
    expect(model.runs).toEqual([]);
    expect(model.loading).toBe(false);
  });

  it('lets the UI address setting win over the project', async () => {
    const { api } = fakeApi([{ runs: [], next_page_token: null }]);
    const model = new SidebarModel(api);
    await model.setNotebook('nb.ipynb');
    expect(model.uiUrl).toBeNull();
    model.setSettings('http://mlflow:5000', model.pageSize);
    expect(model.uiUrl).toBe('http://mlflow:5000');
  });

  it('says how a job started from the view ended, not "started" for ever', () => {
    const { api } = fakeApi([]);
    const model = new SidebarModel(api);
    model.jobMessage = 'weekly: started';
    model.jobs = [{
      name: 'weekly', folder: 'jobs/weekly', installed: false, files: [], next_run: null,
      running: false, parameters: [], runs_error: null, steps: [],
      schedule: { cron: null, timezone: 'UTC', words: null, targets: [] },
      runs: [{ run_id: 'r1', status: 'FINISHED', start_time: 1, duration_s: 20.6, output: null,
               error: null, metrics: {}, steps: [] }]
    }];
    model.jobEnded('weekly');
    expect(model.jobMessage).toBe('weekly: finished in 20.6 s');
    model.jobMessage = 'installed in the crontab';
    model.jobEnded('weekly');
    expect(model.jobMessage).toBe('installed in the crontab');
  });

  it('says where the listed runs come from when not the notebook\'s experiment', async () => {
    const { api } = fakeApi([
      { experiment: { name: 'jobs/weekly' }, runs: [run('b', 2)], next_page_token: null }
    ]);
    const model = new SidebarModel(api);
    await model.setNotebook('nb.ipynb');
    expect(model.runsExperiment).toBe('jobs/weekly');
  });

  it('asks again while the server starts MLflow, saying so, then opens its address', async () => {
    const answers = [
      { status: 202, body: { state: 'starting', url: null } },
      { status: 202, body: { state: 'starting', url: null } },
      { status: 200, body: { state: 'ready', url: 'http://127.0.0.1:5123' } }
    ];
    const asked: string[] = [];
    const api = new NbmlopsApi('/', async (url): Promise<ResponseLike> => {
      asked.push(url.split('?')[0] ?? url);
      const answer = answers.shift() ?? { status: 500, body: {} };
      return { ok: true, status: answer.status, text: async () => JSON.stringify(answer.body) };
    });
    const model = new SidebarModel(api);
    const seen: boolean[] = [];
    model.changed.connect(() => seen.push(model.mlflowStarting));
    const url = await model.mlflowRunUrl('3', 'abc', 1);
    expect(url).toBe('http://127.0.0.1:5123/#/experiments/3/runs/abc?workflowType=machine_learning');
    expect(asked).toEqual(Array(3).fill('/nbmlops/api/mlflow-ui'));
    expect(seen).toEqual([true, false]); // "Starting MLflow…", then the button again
    expect(model.mlflowStarting).toBe(false);
  });

  it("shows the monitoring of the notebook's jobs, and a refused request as a message", async () => {
    const asked: string[] = [];
    let refuse = false;
    const api = new NbmlopsApi('/', async (url): Promise<ResponseLike> => {
      asked.push(url);
      if (refuse) {
        return { ok: false, status: 404, text: async () => '{"message": "no notebook", "error": "NotebookNotFound"}' };
      }
      const body = { notebook: 'nb.ipynb', champion: 'champion', jobs: [{ job: 'score', runs: [], alerts: [] }] };
      return { ok: true, status: 200, text: async () => JSON.stringify(body) };
    });
    const model = new SidebarModel(api);
    model.notebook = 'nb.ipynb';
    await model.showMonitor();
    expect(asked).toEqual(['/nbmlops/api/monitor?notebook=nb.ipynb']);
    expect(model.view).toBe('monitor');
    expect(model.monitor?.jobs.map(j => j.job)).toEqual(['score']);
    expect(model.loading).toBe(false);
    refuse = true;
    await model.showMonitor();
    expect(model.error).toBe('no notebook');
  });
});
