import { ApiError, NbmlopsApi, apiUrl, errorMessage } from '../src/api';
import type { ResponseLike } from '../src/api';

function reply(status: number, body: unknown): ResponseLike {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { ok: status < 400, status, text: async () => text };
}

describe('apiUrl', () => {
  it('joins base, prefix, path and leaves out empty values', () => {
    expect(apiUrl('/lab/', 'runs', { notebook: 'a b/c.ipynb', cell: null, filter: '' })).toBe(
      '/lab/nbmlops/api/runs?notebook=a+b%2Fc.ipynb'
    );
    expect(apiUrl('/x', 'spool')).toBe('/x/nbmlops/api/spool');
  });

  it('repeats the key of an array', () => {
    expect(apiUrl('/', 'diff', { run: ['a', 'b'] })).toBe('/nbmlops/api/diff?run=a&run=b');
  });
});

describe('errorMessage', () => {
  it("reads the server's message and error kind", () => {
    expect(errorMessage(404, '{"message": "no run x", "error": "QueryError"}')).toEqual({
      message: 'no run x',
      kind: 'QueryError'
    });
  });

  it('falls back to the text, then the status', () => {
    expect(errorMessage(502, 'Bad gateway')).toEqual({ message: 'Bad gateway', kind: '' });
    expect(errorMessage(500, '')).toEqual({ message: 'HTTP 500', kind: '' });
  });
});

describe('NbmlopsApi', () => {
  it('sends GET requests with the query and parses JSON', async () => {
    const calls: string[] = [];
    const api = new NbmlopsApi('/base/', async (url, init) => {
      calls.push(`${init.method} ${url}`);
      return reply(200, { runs: [], next_page_token: null });
    });
    const page = await api.runs({ notebook: 'nb.ipynb', pageSize: 5, pageToken: 'tok' });
    expect(page.runs).toEqual([]);
    expect(calls).toEqual(['GET /base/nbmlops/api/runs?notebook=nb.ipynb&page_size=5&page_token=tok']);
  });

  it('encodes run ids in the path', async () => {
    const urls: string[] = [];
    const api = new NbmlopsApi('/', async url => {
      urls.push(url);
      return reply(200, {});
    });
    await api.run('nb.ipynb', 'ab/cd');
    expect(urls[0]).toBe('/nbmlops/api/runs/ab%2Fcd?notebook=nb.ipynb');
  });

  it('turns refusals into ApiError with status and message', async () => {
    const api = new NbmlopsApi('/', async () =>
      reply(403, { message: "'../x' is outside the server's root folder", error: 'OutsideRoot' })
    );
    const error = await api.notebook('../x').catch(e => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(403);
    expect(error.kind).toBe('OutsideRoot');
    expect(error.message).toContain('outside');
  });

  it('reports a network failure as status 0', async () => {
    const api = new NbmlopsApi('/', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(api.spool(null)).rejects.toMatchObject({ status: 0, kind: 'NetworkError' });
  });
});
