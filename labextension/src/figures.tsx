/** A run's figures: thumbnails fetched from the server extension, enlarged on click. */
import * as React from 'react';

import { messageOf, type SidebarModel } from './model';

/** The file name without its folder and suffix: `figures/loss-curve.png` -> `loss-curve`. */
export function figureName(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.[^.]+$/, '');
}

function useObjectUrl(model: SidebarModel, runId: string, path: string) {
  const [state, setState] = React.useState<{ url: string | null; error: string | null }>({
    url: null,
    error: null
  });
  React.useEffect(() => {
    let url: string | null = null;
    let live = true;
    model
      .image(runId, path)
      .then(blob => {
        url = URL.createObjectURL(blob);
        if (live) {
          setState({ url, error: null });
        } else {
          URL.revokeObjectURL(url);
        }
      })
      .catch(error => live && setState({ url: null, error: messageOf(error) }));
    return () => {
      live = false;
      if (url) {
        URL.revokeObjectURL(url);
      }
    };
  }, [model, runId, path]);
  return state;
}

/** One thumbnail; a click shows it large over the page, Escape or a click closes it. */
export function Figure(props: {
  model: SidebarModel;
  runId: string;
  path: string;
  label: string;
}): JSX.Element {
  const { model, runId, path, label } = props;
  const { url, error } = useObjectUrl(model, runId, path);
  const [large, setLarge] = React.useState(false);
  React.useEffect(() => {
    if (!large) {
      return;
    }
    const close = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') {
        setLarge(false);
      }
    };
    document.addEventListener('keydown', close);
    return () => document.removeEventListener('keydown', close);
  }, [large]);
  if (error) {
    return (
      <span className="jp-nbmlops-figure jp-mod-error" title={error}>
        {figureName(path)}: not shown
      </span>
    );
  }
  return (
    <>
      <button
        className="jp-nbmlops-figure"
        aria-label={`Enlarge ${label}`}
        title={path}
        disabled={!url}
        onClick={() => setLarge(true)}
      >
        {url ? <img src={url} alt={label} /> : <span className="jp-nbmlops-figure-wait" />}
      </button>
      {large && url ? (
        <div
          className="jp-nbmlops-lightbox"
          role="dialog"
          aria-label={label}
          onClick={() => setLarge(false)}
        >
          <img src={url} alt={label} />
          <span className="jp-nbmlops-lightbox-caption">{path}</span>
        </div>
      ) : null}
    </>
  );
}

/** Every image of one run, each with its name under it. */
export function FigureStrip(props: {
  model: SidebarModel;
  runId: string;
  paths: string[];
}): JSX.Element {
  return (
    <div className="jp-nbmlops-figures">
      {props.paths.map(path => (
        <figure key={path}>
          <Figure model={props.model} runId={props.runId} path={path} label={figureName(path)} />
          <figcaption>{figureName(path)}</figcaption>
        </figure>
      ))}
    </div>
  );
}
