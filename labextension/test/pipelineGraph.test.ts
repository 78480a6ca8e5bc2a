import { BOX, layoutPipeline, stepLabel } from '../src/pipelineGraph';
import type { JobStep } from '../src/types';

const step = (name: string, needs: string[] = [], status: string | null = null): JobStep => ({
  name,
  needs,
  status,
  run_id: null
});

describe('pipeline graph', () => {
  it('puts each step right of what it needs, branches one under the other', () => {
    const graph = layoutPipeline([
      step('load'),
      step('features', ['load']),
      step('report', ['load']),
      step('train', ['features'])
    ]);
    const at = Object.fromEntries(graph.nodes.map(n => [n.step.name, [n.column, n.row]]));
    expect(at).toEqual({ load: [0, 0], features: [1, 0], report: [1, 1], train: [2, 0] });
    expect(graph.arrows.map(a => `${a.from}->${a.to}`)).toEqual([
      'load->features',
      'load->report',
      'features->train'
    ]);
    const first = graph.arrows[0]!;
    expect([first.x1, first.x2]).toEqual([BOX.width, BOX.width + BOX.gapX]);
    expect(graph.width).toBe(3 * BOX.width + 2 * BOX.gapX);
    expect(graph.height).toBe(2 * BOX.height + BOX.gapY);
  });

  it('draws a cycle edited into job.yaml without looping, and ignores unknown needs', () => {
    const graph = layoutPipeline([step('a', ['b']), step('b', ['a', 'gone'])]);
    expect(graph.nodes).toHaveLength(2);
    expect(graph.arrows).toHaveLength(2);
  });

  it('says what the last run of a step did', () => {
    expect(stepLabel(step('a'))).toBe('never run');
    expect(stepLabel(step('a', [], 'SKIPPED'))).toBe('skipped: up to date');
    expect(stepLabel(step('a', [], 'FAILED'))).toBe('failed');
  });
});
