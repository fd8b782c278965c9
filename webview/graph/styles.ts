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
.qlg-outline { width: 240px; flex: 0 1 240px; min-width: 120px; overflow: auto; border-right: 1px solid var(--vscode-panel-border, transparent); padding: 2px 0; font-size: var(--vscode-font-size); background: var(--vscode-sideBar-background, transparent); color: var(--vscode-sideBar-foreground, inherit); }
.qlg-outline [role=treeitem] { cursor: pointer; outline: none; }
/* Thousands of rows: the outline is its own layout root, and rows off screen are neither styled inside nor laid out until scrolled to. */
.qlg-outline { contain: strict; }
.qlg-outline .qlg-leaf, .qlg-outline [role=treeitem][aria-expanded=false] { content-visibility: auto; contain-intrinsic-block-size: auto 22px; }
.qlg-outline .qlg-kids { content-visibility: auto; }
.qlg-outline [role=group] { margin: 0; padding: 0; }
/* Rows as in VS Code's trees: 22 px, indent guides, twistie, icon, label, description. */
.qlg-outline .qlg-row { display: block; height: 22px; line-height: 22px; padding: 0 6px 0 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.qlg-outline .qlg-row > * { display: inline-block; vertical-align: top; }
.qlg-outline .qlg-row > .qlg-label, .qlg-outline .qlg-row > .qlg-desc { display: inline; }
.qlg-outline .qlg-row:hover { background: var(--vscode-list-hoverBackground); color: var(--vscode-list-hoverForeground, inherit); }
.qlg-outline [role=treeitem][aria-selected=true] > .qlg-row, .qlg-outline .qlg-leaf[aria-selected=true] { background: var(--vscode-list-inactiveSelectionBackground); color: var(--vscode-list-inactiveSelectionForeground, inherit); }
.qlg-outline:focus-within [role=treeitem][aria-selected=true] > .qlg-row, .qlg-outline:focus-within .qlg-leaf[aria-selected=true] { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); }
.qlg-outline [role=treeitem]:focus > .qlg-row, .qlg-outline .qlg-leaf:focus { outline: 1px solid var(--vscode-list-focusOutline, var(--vscode-focusBorder)); outline-offset: -1px; }
.qlg-outline:focus-within [role=treeitem]:focus > .qlg-row, .qlg-outline:focus-within .qlg-leaf:focus { background: var(--vscode-list-focusBackground, var(--vscode-list-activeSelectionBackground)); }
.qlg-indent { height: 22px; }
.qlg-guide { display: inline-block; height: 22px; vertical-align: top; width: 8px; margin-left: 8px; border-left: 1px solid var(--vscode-tree-inactiveIndentGuidesStroke, var(--vscode-tree-indentGuidesStroke, rgba(128,128,128,0.35))); }
.qlg-outline:hover .qlg-guide, .qlg-outline:focus-within .qlg-guide { border-left-color: var(--vscode-tree-indentGuidesStroke, rgba(128,128,128,0.6)); }
.qlg-twistie { width: 16px; height: 22px; text-align: center; }
.qlg-outline .codicon { margin-right: 6px; line-height: 22px; }
.qlg-outline .qlg-twistie.codicon { margin-right: 0; }
.qlg-outline .qlg-desc { margin-left: 6px; font-size: 0.9em; opacity: 0.95; }
.qlg-outline .codicon-symbol-method { color: var(--vscode-symbolIcon-methodForeground, #b180d7); }
.qlg-outline .codicon-pulse { color: var(--vscode-symbolIcon-eventForeground, #ee9d28); }
.qlg-outline .codicon-symbol-ruler { color: var(--vscode-symbolIcon-variableForeground, #75beff); }
.qlg-outline .codicon-symbol-numeric { color: var(--vscode-symbolIcon-numberForeground, var(--vscode-foreground)); }
.qlg-outline .codicon-symbol-array { color: var(--vscode-symbolIcon-arrayForeground, var(--vscode-foreground)); }
.qlg-outline .codicon-symbol-namespace, .qlg-outline .codicon-symbol-structure { color: var(--vscode-symbolIcon-namespaceForeground, var(--vscode-foreground)); }
.qlg-outline .codicon-sign-in, .qlg-outline .codicon-sign-out { color: var(--vscode-symbolIcon-interfaceForeground, #75beff); }
.qlg-tooltip { position: absolute; z-index: 10; max-width: 440px; padding: 4px 8px 6px; pointer-events: none; font-size: 12px; line-height: 1.45;
  background: var(--vscode-editorHoverWidget-background, var(--vscode-editorWidget-background, #252526)); color: var(--vscode-editorHoverWidget-foreground, var(--vscode-foreground, #cccccc));
  border: 1px solid var(--vscode-editorHoverWidget-border, var(--vscode-widget-border, transparent)); border-radius: 3px; box-shadow: 0 2px 8px var(--vscode-widget-shadow, transparent); }
.qlg-tooltip[hidden] { display: none; }
.qlg-tooltip table { border-collapse: collapse; }
.qlg-tooltip td { padding: 0 10px 0 0; vertical-align: top; overflow-wrap: anywhere; }
.qlg-tip-head { padding-bottom: 3px; }
.qlg-tip-title { margin-top: 4px; color: var(--vscode-descriptionForeground); font-weight: 600; }
.qlg-canvas-wrap { flex: 1 1 0; position: relative; min-width: 220px; }
.qlg-canvas { position: absolute; inset: 0; width: 100%; height: 100%; display: block; cursor: grab; touch-action: none; }
.qlg-minimap { position: absolute; right: 10px; bottom: 10px; border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #80808080)); box-shadow: 0 0 6px var(--vscode-widget-shadow, transparent); cursor: crosshair; }
.qlg-canvas:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.qlg-side { width: 320px; flex: 0 1 320px; min-width: 160px; overflow: auto; border-left: 1px solid var(--vscode-panel-border, transparent); padding: 6px 10px; }
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
/* Precision marks: one colour per precision from the theme's chart colours (the badge always has its text too). */
:root { --ql-prec-int8: var(--vscode-charts-blue, #3794ff); --ql-prec-int16: var(--vscode-charts-purple, #b180d7); --ql-prec-fp16: var(--vscode-charts-green, #89d185);
  --ql-prec-float: var(--vscode-charts-yellow, #cca700); --ql-prec-skip: var(--vscode-disabledForeground, #858585); --ql-prec-mixed: var(--vscode-charts-orange, #d18616); }
.qlg-legend { position: absolute; left: 10px; top: 10px; z-index: 5; max-width: 280px; padding: 6px 8px; font-size: 12px; display: flex; flex-direction: column; gap: 8px;
  background: var(--vscode-editorWidget-background, #252526); color: var(--vscode-editorWidget-foreground, var(--vscode-foreground)); border: 1px solid var(--vscode-editorWidget-border, var(--vscode-contrastBorder, transparent)); border-radius: 3px; box-shadow: 0 2px 8px var(--vscode-widget-shadow, transparent); }
.qlg-legend[hidden], .qlg-legend-part[hidden] { display: none; }
.qlg-legend-title { font-weight: 600; color: var(--vscode-descriptionForeground); margin-bottom: 2px; }
.qlg-legend-row { line-height: 20px; white-space: nowrap; }
.qlg-legend-missing { color: var(--vscode-editorWarning-foreground, var(--vscode-foreground)); cursor: help; }
.qlg-legend-missing:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
.qlg-swatch { display: inline-block; min-width: 32px; text-align: center; font-weight: 700; font-size: 10px; line-height: 15px; border: 1px solid var(--vscode-contrastBorder, transparent); }
.qlg-scale { display: block; width: 100%; height: 10px; margin: 4px 0 2px; border: 1px solid var(--vscode-contrastBorder, transparent); }
.qlg-scale-ends { display: flex; justify-content: space-between; gap: 8px; font-variant-numeric: tabular-nums; color: var(--vscode-descriptionForeground); }
.qlg-select { background: var(--vscode-dropdown-background, var(--vscode-input-background)); color: var(--vscode-dropdown-foreground, var(--vscode-foreground)); border: 1px solid var(--vscode-dropdown-border, var(--vscode-contrastBorder, transparent)); font: inherit; padding: 1px 4px; border-radius: 2px; }
.qlg-select:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.qlg-prop-precision { margin: 6px 0; }
.qlg-outline [data-mark]::after { content: attr(data-mark); margin-left: 6px; padding: 0 4px; font-size: 10px; font-weight: 700; border: 1px solid currentColor; border-radius: 2px; opacity: 0.9; }
/* Actual precision (what a quantized model runs in): outlined and dashed, at the row's right end; planned marks follow the name. */
.qlg-outline [data-actual]::before { content: attr(data-actual); float: right; margin: 3px 6px 0 4px; padding: 0 3px; line-height: 14px; font-size: 10px; font-weight: 600; border: 1px dashed currentColor; border-radius: 2px; color: var(--vscode-descriptionForeground); }
.qlg-swatch-actual { background: transparent; color: inherit; border-width: 2px; border-style: solid; min-width: 30px; line-height: 13px; }
.qlg-menu { position: fixed; z-index: 50; min-width: 220px; padding: 4px 0; font-size: 13px; outline: none;
  background: var(--vscode-menu-background, var(--vscode-editorWidget-background, #252526)); color: var(--vscode-menu-foreground, var(--vscode-foreground));
  border: 1px solid var(--vscode-menu-border, var(--vscode-contrastBorder, var(--vscode-widget-border, transparent))); border-radius: 4px; box-shadow: 0 2px 8px var(--vscode-widget-shadow, rgba(0,0,0,0.36)); }
.qlg-menu[hidden] { display: none; }
.qlg-menu-item { display: flex; justify-content: space-between; gap: 24px; padding: 0 12px; line-height: 24px; cursor: pointer; outline: none; white-space: nowrap; }
.qlg-menu-item:hover, .qlg-menu-item:focus { background: var(--vscode-menu-selectionBackground, var(--vscode-list-activeSelectionBackground)); color: var(--vscode-menu-selectionForeground, var(--vscode-list-activeSelectionForeground)); outline: 1px solid var(--vscode-menu-selectionBorder, transparent); outline-offset: -1px; }
.qlg-menu-hint { opacity: 0.75; }
.qlg-menu-sep { height: 1px; margin: 4px 0; background: var(--vscode-menu-separatorBackground, var(--vscode-panel-border, rgba(128,128,128,0.35))); }
`;

let installed = false;

export function installGraphStyles(): void {
  if (installed) return;
  installed = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
