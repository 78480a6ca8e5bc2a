/** A small line when records wait in the spool (the tracking server is down), with why. */
import * as React from 'react';

import { spoolSummary } from './format';
import type { SidebarModel } from './model';

export function SpoolIndicator(props: { model: SidebarModel }): JSX.Element | null {
  const { spool, spoolError } = props.model;
  const text = spool ? spoolSummary(spool) : null;
  if (!text && !spoolError) {
    return null;
  }
  const failing = Boolean(spool?.failing) || Boolean(spool?.failed);
  return (
    <div
      className={`jp-nbmlops-spool${failing ? ' jp-mod-warn' : ''}`}
      role="status"
      aria-live="polite"
      title={spool ? `spool: ${spool.spool}` : undefined}
    >
      <span className="jp-nbmlops-spool-dot" aria-hidden="true" />
      {text ?? `Spool status unavailable: ${spoolError}`}
    </div>
  );
}
