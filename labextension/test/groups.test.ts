import {
  candidateScore,
  distinguishingParams,
  groupRuns,
  searchesOf,
  splitParams
} from '../src/groups';
import type { RunSummary } from '../src/types';

function run(id: string, fields: Partial<RunSummary> = {}): RunSummary {
  return {
    run_id: id,
    run_name: 'train',
    experiment_id: '1',
    status: 'FINISHED',
    start_time: 0,
    end_time: 0,
    params: {},
    metrics: {},
    tags: {},
    datasets: [],
    duration_s: null,
    code_sha: null,
    python: null,
    git_commit: null,
    git_dirty: false,
    error: null,
    candidates: [],
    parent_run_id: null,
    job: null,
    group: null,
    injected_params: [],
    slice_verdict: null,
    slice_reasons: [],
    reproduced: null,
    reproduces: null,
    step: null,
    candidate_rank: null,
    candidate_of: null,
    ...fields
  };
}

describe('groups', () => {
  it('groups the runs of one execution and shows what was injected into it', () => {
    const runs = [
      run('t2', { group: 's2', params: { n_estimators: '300', seed: '1' },
                  injected_params: ['n_estimators'] }),
      run('l2', { run_name: 'load', group: 's2' }),
      run('t1', { group: 's1', params: { n_estimators: '100', seed: '1' },
                  injected_params: ['n_estimators'] }),
      run('old')
    ];
    const groups = groupRuns(runs);
    expect(groups.map(g => g.runs.map(r => r.run_id))).toEqual([['t2', 'l2'], ['t1'], ['old']]);
    expect(groups[0]?.params).toEqual(['n_estimators=300']);
    expect(groups[2]?.key).toBe('old');
  });

  it("puts a job's nested runs under its parent run", () => {
    const runs = [
      run('cell', { group: 'job1', parent_run_id: 'job1' }),
      run('job1', { run_name: 'weekly', job: 'weekly', group: 'job1', params: { alpha: '0.5' } })
    ];
    const [group] = groupRuns(runs);
    expect(group?.head?.run_id).toBe('job1');
    expect(group?.runs.map(r => r.run_id)).toEqual(['cell']);
    expect(group?.params).toEqual(['alpha=0.5']);
  });

  it('tells each run apart from the other runs of its cell by the params that differ', () => {
    const runs = [
      run('a', { params: { lr: '0.1', 'model.lr': '0.1', seed: '1', depth: '3' } }),
      run('b', { params: { lr: '0.5', 'model.lr': '0.5', seed: '1', depth: '4' } }),
      run('c', { run_name: 'load', params: { seed: '7' } })
    ];
    const found = distinguishingParams(runs, 2);
    expect(found.get('a')).toEqual(['depth=3', 'lr=0.1']);
    expect(found.get('b')).toEqual(['depth=4', 'lr=0.5']);
    expect(found.get('c')).toEqual([]); // alone in its cell: nothing to tell apart
  });

  it('nests a reproduction under the run it reproduces, not as a run of its own', () => {
    const runs = [
      run('rep', { group: 's9', reproduces: 'orig' }),
      run('other', { group: 's2' }),
      run('orig', { group: 's1' }),
      run('lost', { group: 's8', reproduces: 'not-on-this-page' })
    ];
    const groups = groupRuns(runs);
    expect(groups.map(g => g.runs.map(r => r.run_id))).toEqual([['other'], ['orig'], ['lost']]);
    expect(groups[1]?.reproductions.get('orig')?.map(r => r.run_id)).toEqual(['rep']);
  });

  it("heads a pipeline step's cells with the step's run", () => {
    const runs = [
      run('cell', { group: 'step1', parent_run_id: 'step1' }),
      run('step1', { run_name: 'prep', step: 'prep', group: 'pipe', parent_run_id: 'pipe' })
    ];
    const [group] = groupRuns(runs);
    expect(group?.head?.run_id).toBe('step1');
    expect(group?.runs.map(r => r.run_id)).toEqual(['cell']);
  });

  it('puts the params that differ from the cell\'s other runs first, the rest apart', () => {
    const params = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`p${i}`, '1']));
    const a = run('a', { params: { ...params, lr: '0.1' } });
    const b = run('b', { params: { ...params, lr: '0.5' } });
    const other = run('c', { run_name: 'load', params: { lr: '9' } });
    const { differ, same } = splitParams(a, [a, b, other]);
    expect(differ).toEqual([['lr', '0.1']]);
    expect(same.length).toBe(70);
    expect(splitParams(a, [a]).differ).toEqual([]);
  });

  it("ranks a search's candidates under their search, each with the score it was ranked by", () => {
    const c = (id: string, rank: number, of: string, metrics: Record<string, number>) =>
      run(id, { candidate_rank: rank, candidate_of: of, metrics });
    const parent = run('p', {
      candidates: [
        c('b', 2, 'grid', { mean_test_score: 0.9, mean_fit_time: 0.1 }),
        c('a', 1, 'grid', { mean_test_score: 0.95, mean_fit_time: 0.2 }),
        c('s', 1, 'study', { value: 0.3 })
      ]
    });
    const found = searchesOf(parent);
    expect(found.map(([name, ranked]) => [name, ranked.map(r => r.run_id)])).toEqual([
      ['grid', ['a', 'b']],
      ['study', ['s']]
    ]);
    const best = (i: number) => found[i]?.[1][0] as RunSummary;
    expect(candidateScore(best(0))).toEqual(['mean_test_score', 0.95]);
    expect(candidateScore(best(1))).toEqual(['value', 0.3]);
    expect(searchesOf(run('q'))).toEqual([]);
  });
});
