/** The viewer page: the index, or one recorder trace when the URL names it (?trace=...). */
import 'uplot/dist/uPlot.min.css';
import { readUrlState } from '../url-state.js';
import { h } from './dom.js';
import { renderIndex } from './index-view.js';
import { openTrace } from './trace/view.js';

const root = document.getElementById('app') as HTMLElement;
const state = readUrlState(location.search);
const shown = state.trace === undefined ? renderIndex(root) : openTrace(root, state);
shown.catch((err: unknown) => {
  root.append(h('p', { class: 'error', id: 'error' }, `Error: ${(err as Error).message}`));
});
