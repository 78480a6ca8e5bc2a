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

/** An interactive figure (plotly, Altair: an HTML page) in a frame whose scripts run apart
 * from JupyterLab: `allow-scripts` without `allow-same-origin` gives it an opaque origin. */
export function FigurePage(props: {
  model: SidebarModel;
  runId: string;
  path: string;
  label: string;
}): JSX.Element {
  const { model, runId, path, label } = props;
  const [state, setState] = React.useState<{ html: string | null; error: string | null }>({
    html: null,
    error: null
  });
  React.useEffect(() => {
    let live = true;
    model
      .image(runId, path)
      .then(blob => blob.text())
      .then(html => live && setState({ html, error: null }))
      .catch(error => live && setState({ html: null, error: messageOf(error) }));
    return () => {
      live = false;
    };
  }, [model, runId, path]);
  if (state.error) {
    return (
      <span className="jp-nbmlops-figure jp-mod-error" title={state.error}>
        {figureName(path)}: not shown
      </span>
    );
  }
  return state.html === null ? (
    <span className="jp-nbmlops-figure-wait" />
  ) : (
    <iframe
      className="jp-nbmlops-figure-page"
      title={label}
      sandbox="allow-scripts"
      srcDoc={state.html}
    />
  );
}

/** Every figure of one run, each with its name under it: images, then interactive pages
 * (a page with a PNG of the same name shows beside it). */
export function FigureStrip(props: {
  model: SidebarModel;
  runId: string;
  paths: string[];
  pages?: string[];
}): JSX.Element {
  return (
    <div className="jp-nbmlops-figures">
      {props.paths.map(path => (
        <figure key={path}>
          <Figure model={props.model} runId={props.runId} path={path} label={figureName(path)} />
          <figcaption>{figureName(path)}</figcaption>
        </figure>
      ))}
      {(props.pages ?? []).map(path => (
        <figure key={path} className="jp-nbmlops-figure-interactive">
          <FigurePage model={props.model} runId={props.runId} path={path} label={figureName(path)} />
          <figcaption>{figureName(path)} (interactive)</figcaption>
        </figure>
      ))}
    </div>
  );
}
