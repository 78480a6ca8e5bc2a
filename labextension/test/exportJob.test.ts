import { NbmlopsApi } from '../src/api';
import type { ResponseLike } from '../src/api';
import { cronPreview, defaultJobName, exportRequest, exportSummary } from '../src/exportJob';
import type { ExportResult } from '../src/types';

function reply(status: number, body: unknown): ResponseLike {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { ok: status < 400, status, text: async () => text };
}

const RESULT: ExportResult = {
  name: 'nightly',
  folder: 'notebooks/jobs/nightly',
  files: ['nightly.ipynb', 'requirements.txt', 'job.yaml', 'crontab.txt'],
  created: true,
  schedule: { cron: '0 3 * * 1', timezone: 'UTC', targets: ['cron'] },
  parameters: ['lr'],
  warnings: [],
  notes: [],
  changes: []
};

describe('cronPreview', () => {
  it('reads a five-field expression out in words', () => {
    expect(cronPreview('0 3 * * 1')).toEqual({ ok: true, text: 'At 03:00, only on Monday' });
    expect(cronPreview('  */15   *  * * * ').text).toBe('Every 15 minutes');
  });

  it('says why an expression is not valid', () => {
    expect(cronPreview('')).toMatchObject({ ok: false });
    const six = cronPreview('0 0 3 * * 1');
    expect(six.ok).toBe(false);
    expect(six.text).toMatch(/Five fields/);
    const bad = cronPreview('61 3 * * *');
    expect(bad.ok).toBe(false);
    expect(bad.text).toMatch(/^Not a valid cron expression/);
  });
});

describe('export request', () => {
  it('proposes a job name from the notebook', () => {
    expect(defaultJobName('notebooks/train.ipynb')).toBe('train');
    expect(defaultJobName('My Notebook (v2).ipynb')).toBe('My-Notebook-v2-');
    expect(defaultJobName('.ipynb')).toBe('job');
  });

  it('builds the body with the target as a list and a tidy schedule', () => {
    expect(
      exportRequest('a/b.ipynb', { name: ' nightly ', schedule: '0  3 * * 1 ', target: 'airflow' })
    ).toEqual({ notebook: 'a/b.ipynb', name: 'nightly', schedule: '0 3 * * 1', targets: ['airflow'] });
    expect(exportRequest('b.ipynb', { name: '', schedule: '0 3 * * *', target: 'cron' })).not.toHaveProperty('name');
  });

  it('POSTs JSON to export and returns the job folder', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new NbmlopsApi('/base/', async (url, init) => {
      calls.push({ url, init });
      return reply(200, RESULT);
    });
    const body = exportRequest('notebooks/train.ipynb', {
      name: 'nightly', schedule: '0 3 * * 1', target: 'cron'
    });
    const result = await api.exportJob(body);
    expect(result.folder).toBe('notebooks/jobs/nightly');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('/base/nbmlops/api/export');
    expect(calls[0]?.init.method).toBe('POST');
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual(body);
  });

  it("turns the server's refusal into an ApiError with its message", async () => {
    const api = new NbmlopsApi('/', async () =>
      reply(400, { message: "invalid cron expression '61 3 * * *'", error: 'ScheduleError' })
    );
    await expect(api.exportJob({ notebook: 'a.ipynb', schedule: '61 3 * * *' })).rejects.toMatchObject({
      status: 400,
      kind: 'ScheduleError',
      message: "invalid cron expression '61 3 * * *'"
    });
  });

  it('summarises where the job was written', () => {
    const lines = exportSummary(RESULT);
    expect(lines[0]).toBe('Job folder written: notebooks/jobs/nightly/');
    expect(lines[1]).toBe('Schedule: 0 3 * * 1 (UTC) for cron');
    expect(exportSummary({ ...RESULT, created: false })[0]).toMatch(/^Job folder updated/);
  });
});
