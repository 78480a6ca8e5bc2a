/** A hyperparameter search's candidates, folded under the run that made them: ranked, with
 * the settings each tried and its score; a candidate opens like any run. */
import * as React from 'react';

import { metricValue } from './format';
import { candidateScore, searchesOf } from './groups';
import type { SidebarModel } from './model';
import type { RunSummary } from './types';

export function Candidates(props: {
  model: SidebarModel;
  run: RunSummary;
  open?: boolean;
}): JSX.Element | null {
  const { model, run } = props;
  const searches = searchesOf(run);
  if (searches.length === 0) {
    return null;
  }
  return (
    <>
      {searches.map(([search, ranked]) => (
        <details
          key={search}
          className="jp-nbmlops-candidates"
          open={props.open}
          aria-label={`Candidates of ${search}`}
        >
          <summary>
            ⌕ {search}: {ranked.length} best candidates
          </summary>
          <ol className="jp-nbmlops-candidate-list">
            {ranked.map(c => {
              const score = candidateScore(c);
              const settings = Object.entries(c.params)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => `${k}=${v}`)
                .join(' · ');
              return (
                <li key={c.run_id} className="jp-nbmlops-candidate" data-run-id={c.run_id}>
                  <button
                    className="jp-nbmlops-candidate-open"
                    aria-label={`Show details of candidate ${c.candidate_rank ?? ''} of ${search}`}
                    onClick={() => void model.openRun(c.run_id)}
                  >
                    <span className="jp-nbmlops-candidate-rank">#{c.candidate_rank ?? '?'}</span>
                    <span className="jp-nbmlops-candidate-params">{settings || 'defaults'}</span>
                    {score ? (
                      <span className="jp-nbmlops-metric">
                        {score[0]} <b>{metricValue(score[1])}</b>
                      </span>
                    ) : null}
                  </button>
                </li>
              );
            })}
          </ol>
        </details>
      ))}
    </>
  );
}
