/**
 * The graph view's styles, installed as a constructed stylesheet: the CSP has no 'unsafe-inline'
 * for styles, and constructed sheets are CSSOM, not inline markup. Colours are VS Code variables.
 */
const CSS = `
.qlg-root { position: fixed; inset: 0; display: flex; flex-direction: column; background: var(--vscode-editor-background); color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
.qlg-toolbar { display: flex; align-items: center; gap: 6px; padding: 4px 8px; border-bottom: 1px solid var(--vscode-panel-border, transparent); flex: none; }
.qlg-toolbar h1 { font-size: 1em; font-weight: 600; margin: 0 8px 0 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 30%; }
.qlg-search { width: 260px; background: var(--vscode-input-background); color: var(--vscode-input-foreground); border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; font: inherit; }
.qlg-search:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.qlg-count { color: var(--vscode-descriptionForeground); min-width: 70px; font-variant-numeric: tabular-nums; }
.qlg-btn { background: transparent; color: var(--vscode-icon-foreground, var(--vscode-foreground)); border: 1px solid transparent; border-radius: 3px; padding: 2px 5px; cursor: pointer; font: inherit; }
.qlg-btn:hover { background: var(--vscode-toolbar-hoverBackground, rgba(128,128,128,0.2)); }
.qlg-btn:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
.qlg-status { margin-left: auto; color: var(--vscode-descriptionForeground); white-space: nowrap; }
.qlg-body { flex: 1; display: flex; min-height: 0; }
.qlg-outline { width: 230px; flex: none; overflow: auto; border-right: 1px solid var(--vscode-panel-border, transparent); padding: 4px 0; font-size: 0.92em; }
.qlg-outline [role=treeitem] { cursor: default; }
.qlg-outline .qlg-row { display: block; padding: 1px 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.qlg-outline [role=treeitem][aria-selected=true] > .qlg-row, .qlg-outline [role=treeitem][aria-selected=true].qlg-leaf { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); }
.qlg-outline [role=treeitem]:focus { outline: 1px solid var(--vscode-list-focusOutline, var(--vscode-focusBorder)); outline-offset: -1px; }
.qlg-outline .qlg-leaf { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.qlg-outline [role=group] { margin: 0; padding: 0; }
.qlg-canvas-wrap { flex: 1; position: relative; min-width: 0; }
.qlg-canvas { position: absolute; inset: 0; width: 100%; height: 100%; display: block; cursor: grab; touch-action: none; }
.qlg-minimap { position: absolute; right: 10px; bottom: 10px; border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #80808080)); box-shadow: 0 0 6px var(--vscode-widget-shadow, transparent); cursor: crosshair; }
.qlg-canvas:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.qlg-side { width: 320px; flex: none; overflow: auto; border-left: 1px solid var(--vscode-panel-border, transparent); padding: 6px 10px; }
.qlg-side h2 { font-size: 1.05em; margin: 6px 0 2px; overflow-wrap: anywhere; }
.qlg-side h3 { font-size: 0.95em; margin: 12px 0 4px; color: var(--vscode-descriptionForeground); font-weight: 600; }
.qlg-props table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.qlg-props td { padding: 2px 6px 2px 0; vertical-align: top; overflow-wrap: anywhere; border-bottom: 1px solid var(--vscode-editorWidget-border, transparent); }
.qlg-mono { font-family: var(--vscode-editor-font-family); font-size: 0.95em; }
.qlg-muted { color: var(--vscode-descriptionForeground); }
.qlg-summary-panel > summary { cursor: pointer; font-weight: 600; margin-top: 12px; }
.qlg-summary-panel .ql-summary { padding: 0; }
.qlg-summary-panel .ql-facts { grid-template-columns: 1fr 1fr; }
.qlg-stats { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 4px 0; }
.qlg-stats dt { color: var(--vscode-descriptionForeground); }
.qlg-stats dd { margin: 0; font-variant-numeric: tabular-nums; }
.qlg-chart { display: block; margin: 4px 0; }
.qlg-alt > summary, .qlg-const > summary { cursor: pointer; }
.qlg-alt table { font-size: 0.9em; }
.qlg-const { margin: 4px 0 8px; }
.qlg-quant { margin: 4px 0 8px; }
.qlg-error { color: var(--vscode-errorForeground); margin: 4px 0; overflow-wrap: anywhere; }
.qlg-pager { display: flex; align-items: center; gap: 6px; margin-top: 6px; }
.qlg-values-region:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
.qlg-values { margin: 4px 0; padding-left: 4.5em; max-height: 240px; overflow: auto; font-variant-numeric: tabular-nums; }
.qlg-btn[aria-pressed=true] { background: var(--vscode-inputOption-activeBackground, rgba(128,128,128,0.3)); border-color: var(--vscode-inputOption-activeBorder, transparent); }
.qlg-btn:disabled { opacity: 0.4; cursor: default; }
`;

let installed = false;

export function installGraphStyles(): void {
  if (installed) return;
  installed = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
