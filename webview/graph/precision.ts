/**
 * Precision marks as the graph shows them: the short badge text, the menu wording and the
 * theme-aware colours (CSS variables --ql-prec-*, defined in styles.ts on top of VS Code's chart
 * colours, so light, dark and high-contrast themes each get their own). Colour never travels
 * alone: every badge carries its text.
 */
import { PRECISIONS, type Precision } from '../../src/protocol';

export { PRECISIONS, type Precision };

export const BADGE_TEXT: Record<Precision, string> = { int8: 'i8', int16: 'i16', fp16: 'f16', float: 'fp32', skip: 'skip' };
/** What a menu says for each precision. */
export const MENU_TEXT: Record<Precision, string> = { int8: 'int8', int16: 'int16', fp16: 'fp16', float: 'keep float', skip: 'skip' };
/** Keyboard shortcuts on the graph and the outline (Delete / Backspace clear). */
export const SHORTCUT: Partial<Record<Precision, string>> = { int8: '1', int16: '2', fp16: '3', float: '0' };
export const KEY_TO_PRECISION: Record<string, Precision> = { '1': 'int8', '2': 'int16', '3': 'fp16', '0': 'float' };

export interface BadgeColours {
  bg: Record<Precision | 'mixed', string>;
  fg: Record<Precision | 'mixed', string>;
  /** High contrast themes draw a border around badges (contrastBorder), '' otherwise. */
  border: string;
}

/** Relative luminance of a CSS colour the canvas can parse (#rgb, #rrggbb, rgb()). */
export function luminance(colour: string): number {
  const rgb = parseColour(colour);
  if (!rgb) return 0.5;
  const lin = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

export function parseColour(c: string): [number, number, number] | undefined {
  const s = c.trim();
  let m = /^#([0-9a-f]{3,8})$/i.exec(s);
  if (m) {
    const x = m[1];
    if (x.length === 3 || x.length === 4) return [0, 1, 2].map((i) => parseInt(x[i] + x[i], 16)) as [number, number, number];
    if (x.length === 6 || x.length === 8) return [0, 2, 4].map((i) => parseInt(x.slice(i, i + 2), 16)) as [number, number, number];
  }
  m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/i.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return undefined;
}

/** Black or white, whichever reads better on `bg`. */
export function textOn(bg: string): string {
  return luminance(bg) > 0.28 ? '#000000' : '#ffffff';
}

export function readBadgeColours(): BadgeColours {
  const cs = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  const bg = {
    int8: v('--ql-prec-int8', '#3794ff'),
    int16: v('--ql-prec-int16', '#b180d7'),
    fp16: v('--ql-prec-fp16', '#89d185'),
    float: v('--ql-prec-float', '#cca700'),
    skip: v('--ql-prec-skip', '#858585'),
    mixed: v('--ql-prec-mixed', '#d18616'),
  };
  const fg = Object.fromEntries(Object.entries(bg).map(([k, c]) => [k, textOn(c)])) as BadgeColours['fg'];
  return { bg, fg, border: v('--vscode-contrastBorder', '') };
}
