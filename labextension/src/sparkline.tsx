/** A small line of a stepped metric's values, labelled for screen readers. */
import * as React from 'react';

import { metricValue, sparklinePoints } from './format';
import type { MetricPoint } from './types';

const WIDTH = 90;
const HEIGHT = 22;

export function Sparkline(props: { name: string; points: MetricPoint[] }): JSX.Element {
  const { name, points } = props;
  const first = points[0];
  const last = points[points.length - 1];
  const label =
    `${name}: ${points.length} steps, from ${metricValue(first?.value)} ` +
    `to ${metricValue(last?.value)}`;
  return (
    <svg
      className="jp-nbmlops-sparkline"
      width={WIDTH}
      height={HEIGHT}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      <polyline points={sparklinePoints(points, WIDTH, HEIGHT)} />
    </svg>
  );
}
