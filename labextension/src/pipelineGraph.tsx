/** A pipeline job drawn as its small graph: one box per step, coloured by its last run's
 * status, an arrow from each step to the steps that need it. The layout is a pure function
 * (columns by depth: a step stands right of everything it needs). */
import * as React from 'react';

import { statusClass } from './format';
import type { JobStep } from './types';

export const BOX = { width: 96, height: 22, gapX: 26, gapY: 8 };

export interface PlacedStep {
  step: JobStep;
  column: number;
  row: number;
  x: number;
  y: number;
}

export interface Arrow {
  from: string;
  to: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface GraphLayout {
  nodes: PlacedStep[];
  arrows: Arrow[];
  width: number;
  height: number;
}

/** Columns by depth (0: needs nothing; else 1 + the deepest need), rows in the order given. */
export function layoutPipeline(steps: JobStep[]): GraphLayout {
  const byName = new Map(steps.map(s => [s.name, s]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) {
      return known;
    }
    if (visiting.has(name)) {
      return 0; // a cycle edited into job.yaml by hand: draw it, do not loop
    }
    visiting.add(name);
    const needs = (byName.get(name)?.needs ?? []).filter(n => byName.has(n));
    const d = needs.length ? 1 + Math.max(...needs.map(depthOf)) : 0;
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  const rows = new Map<number, number>();
  const nodes = steps.map(step => {
    const column = depthOf(step.name);
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    return {
      step,
      column,
      row,
      x: column * (BOX.width + BOX.gapX),
      y: row * (BOX.height + BOX.gapY)
    };
  });
  const placed = new Map(nodes.map(n => [n.step.name, n]));
  const arrows: Arrow[] = [];
  for (const node of nodes) {
    for (const need of node.step.needs) {
      const from = placed.get(need);
      if (from) {
        arrows.push({
          from: need,
          to: node.step.name,
          x1: from.x + BOX.width,
          y1: from.y + BOX.height / 2,
          x2: node.x,
          y2: node.y + BOX.height / 2
        });
      }
    }
  }
  const columns = Math.max(0, ...nodes.map(n => n.column + 1));
  const maxRows = Math.max(0, ...Array.from(rows.values()));
  return {
    nodes,
    arrows,
    width: Math.max(0, columns * (BOX.width + BOX.gapX) - BOX.gapX),
    height: Math.max(0, maxRows * (BOX.height + BOX.gapY) - BOX.gapY)
  };
}

/** What a step's box says of its last run. */
export function stepLabel(step: JobStep): string {
  if (!step.status) {
    return 'never run';
  }
  return step.status === 'SKIPPED' ? 'skipped: up to date' : step.status.toLowerCase();
}

export function PipelineGraph(props: { job: string; steps: JobStep[] }): JSX.Element | null {
  const { job, steps } = props;
  if (!steps.length) {
    return null;
  }
  const graph = layoutPipeline(steps);
  const marker = `jp-nbmlops-arrow-${job.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <svg
      className="jp-nbmlops-pipeline"
      role="img"
      aria-label={`Steps of ${job}`}
      width={graph.width + 2}
      height={graph.height + 2}
      viewBox={`-1 -1 ${graph.width + 2} ${graph.height + 2}`}
    >
      <defs>
        <marker id={marker} viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" orient="auto">
          <path d="M0,0 L6,3 L0,6 z" className="jp-nbmlops-pipeline-arrowhead" />
        </marker>
      </defs>
      {graph.arrows.map(a => (
        <line
          key={`${a.from}->${a.to}`}
          className="jp-nbmlops-pipeline-edge"
          x1={a.x1}
          y1={a.y1}
          x2={a.x2}
          y2={a.y2}
          markerEnd={`url(#${marker})`}
        />
      ))}
      {graph.nodes.map(n => {
        const status = n.step.status === 'SKIPPED' ? 'skipped' : statusClass(n.step.status ?? '');
        return (
          <g key={n.step.name} transform={`translate(${n.x},${n.y})`} aria-label={`Step ${n.step.name}: ${stepLabel(n.step)}`}>
            <title>{`${n.step.name}: ${stepLabel(n.step)}`}</title>
            <rect className={`jp-nbmlops-pipeline-step jp-nbmlops-step-${status}`} width={BOX.width} height={BOX.height} rx={4} />
            <text x={8} y={BOX.height / 2 + 4}>
              {n.step.name.length > 13 ? `${n.step.name.slice(0, 12)}…` : n.step.name}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
