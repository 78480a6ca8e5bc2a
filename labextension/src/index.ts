/**
 * nbmlops for JupyterLab 4 / Notebook 7: the "MLOps" sidebar following the active notebook,
 * its commands and settings. Talks to the server extension in nbmlops/server.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { NbmlopsApi } from './api';
import { CommandIds, PALETTE_CATEGORY } from './commands';
import { exportNotebookAsJob } from './exportDialog';
import { nbmlopsIcon } from './icon';
import { DEFAULT_PAGE_SIZE, SidebarModel } from './model';
import { Sidebar } from './sidebar';

const PLUGIN_ID = 'nbmlops:plugin';
// The background sync process uploads a record within a second or two of the cell's end.
const REFRESH_AFTER_TRACK_MS = [1500, 5000];

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Tracked cells, runs, details and diffs of the active notebook.',
  autoStart: true,
  optional: [INotebookTracker, ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ) => {
    const settings = ServerConnection.makeSettings();
    const api = new NbmlopsApi(settings.baseUrl, (url, init) =>
      ServerConnection.makeRequest(url, init, settings)
    );
    const model = new SidebarModel(api);
    const sidebar = new Sidebar(model, {
      onExport: () => void app.commands.execute(CommandIds.exportJob),
      openFile: path => void app.commands.execute('docmanager:open', { path })
    });
    sidebar.id = 'nbmlops-sidebar';
    sidebar.title.icon = nbmlopsIcon;
    sidebar.title.caption = 'MLOps: runs of this notebook';
    sidebar.title.label = 'MLOps';
    sidebar.node.setAttribute('role', 'region');
    sidebar.node.setAttribute('aria-label', 'MLOps runs of the active notebook');
    app.shell.add(sidebar, 'left', { rank: 700 });
    restorer?.add(sidebar, 'nbmlops-sidebar');

    const follow = (): void => {
      void model.setNotebook(notebooks?.currentWidget?.context.path ?? null);
    };
    notebooks?.currentChanged.connect(follow);
    notebooks?.widgetAdded.connect((_, panel) => {
      panel.context.ready.then(follow).catch(() => undefined);
    });
    follow();

    NotebookActions.executed.connect((_, { notebook, cell }) => {
      const current = notebooks?.currentWidget;
      if (!current || current.content !== notebook) {
        return;
      }
      // `%%track` and its options, not another magic that starts alike (`%%tracking`).
      if (/^%%track(\s|$)/.test(cell.model.sharedModel.getSource().trimStart())) {
        model.cellTracked();
        for (const delay of REFRESH_AFTER_TRACK_MS) {
          setTimeout(() => {
            if (model.view === 'runs') {
              void model.refresh();
            }
            void model.pollSpool();
          }, delay);
        }
      }
    });

    // The indicator keeps up with the cells' status lines: every second while records wait
    // or just after a tracked cell, every ten seconds otherwise.
    const pollSpool = async (): Promise<void> => {
      if (sidebar.isVisible) {
        await model.pollSpool();
      }
      setTimeout(() => void pollSpool(), model.spoolPollDelay());
    };
    void pollSpool();

    app.commands.addCommand(CommandIds.open, {
      label: 'MLOps: Show Runs of This Notebook',
      icon: nbmlopsIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIds.refresh, {
      label: 'MLOps: Refresh Runs',
      execute: () => model.refresh()
    });
    app.commands.addCommand(CommandIds.compare, {
      label: 'MLOps: Compare the Selected Runs',
      isEnabled: () => model.selected.length >= 2,
      execute: () => {
        app.shell.activateById(sidebar.id);
        return model.compare();
      }
    });
    app.commands.addCommand(CommandIds.spool, {
      label: 'MLOps: Check Records Waiting to Sync',
      execute: () => model.pollSpool()
    });
    app.commands.addCommand(CommandIds.exportJob, {
      label: 'MLOps: Export Notebook as Job…',
      caption: 'Write a job folder (job.yaml, schedule files) for the active notebook',
      isEnabled: () => model.notebook !== null,
      execute: async () => {
        const notebook = model.notebook;
        if (notebook !== null && (await exportNotebookAsJob(api, notebook))) {
          await model.showJobs(); // the next steps: run it, install its schedule
        }
      }
    });
    for (const command of Object.values(CommandIds)) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }

    if (settingRegistry) {
      const apply = (loaded: ISettingRegistry.ISettings): void => {
        const uiUrl = (loaded.get('mlflowUiUrl').composite as string | undefined) ?? '';
        const pageSize =
          (loaded.get('pageSize').composite as number | undefined) ?? DEFAULT_PAGE_SIZE;
        model.setSettings(uiUrl, pageSize);
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          apply(loaded);
          loaded.changed.connect(apply);
        })
        .catch(reason => console.warn('nbmlops: settings not loaded', reason));
    }
  }
};

export default plugin;
