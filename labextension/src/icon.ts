/** The sidebar's tab icon: three runs on a rising line. Colours come from the theme. */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <polyline class="jp-icon3" fill="none" stroke="#616161" stroke-width="2"
    points="3,18 9,12 14,15 21,6"/>
  <circle class="jp-icon3" fill="#616161" cx="9" cy="12" r="2.2"/>
  <circle class="jp-icon3" fill="#616161" cx="14" cy="15" r="2.2"/>
  <circle class="jp-icon3" fill="#616161" cx="21" cy="6" r="2.2"/>
</svg>`;

export const nbmlopsIcon = new LabIcon({ name: 'nbmlops:runs', svgstr: svg });
