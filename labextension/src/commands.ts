/** Ids of the commands the extension adds (palette category "MLOps"). */
export const CommandIds = {
  open: 'nbmlops:open-sidebar',
  refresh: 'nbmlops:refresh',
  compare: 'nbmlops:compare-selected',
  spool: 'nbmlops:spool-status',
  exportJob: 'nbmlops:export-job'
} as const;

export const PALETTE_CATEGORY = 'MLOps';
