/**
 * A small context menu (role menu / menuitem) drawn with the theme's menu colours: arrow keys,
 * Home/End, Enter or Space to run, Right to open a "…" submenu and Left to go back, Escape to close
 * (focus returns where it came from). Labels go in as text.
 */
import { h } from '../dom';

export interface MenuItem {
  label: string;
  /** Shown right-aligned (a keyboard shortcut). */
  hint?: string;
  testId?: string;
  run?: () => void;
  /** A "…" item: replaces the menu's items with these (Left or Escape goes back). */
  submenu?: () => MenuItem[];
  separatorBefore?: boolean;
}

export class ContextMenu {
  readonly element: HTMLElement;
  private stack: MenuItem[][] = [];
  private returnFocus: HTMLElement | null = null;
  private readonly onDocDown = (ev: PointerEvent): void => {
    if (!this.element.hidden && !(ev.target instanceof Node && this.element.contains(ev.target))) this.close(false);
  };

  constructor() {
    this.element = h('div', { class: 'qlg-menu', role: 'menu', 'data-testid': 'graph-menu', hidden: true, tabindex: -1 });
    this.element.addEventListener('keydown', (ev) => this.onKey(ev));
    this.element.addEventListener('click', (ev) => {
      const el = ev.target instanceof Element ? ev.target.closest<HTMLElement>('[role=menuitem]') : null;
      if (el) this.activate(Number(el.dataset.index));
    });
    this.element.addEventListener('contextmenu', (ev) => ev.preventDefault());
    document.addEventListener('pointerdown', this.onDocDown, true);
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  /** Opens at client coordinates (x, y) with `items`, focusing the first. */
  show(items: MenuItem[], x: number, y: number, label: string): void {
    this.returnFocus = document.activeElement instanceof HTMLElement && !this.element.contains(document.activeElement) ? document.activeElement : this.returnFocus;
    this.stack = [items];
    this.element.setAttribute('aria-label', label);
    this.render();
    this.element.hidden = false;
    // Inside the window.
    const r = this.element.getBoundingClientRect();
    this.element.style.left = `${Math.max(0, Math.min(x, window.innerWidth - r.width - 4))}px`;
    this.element.style.top = `${Math.max(0, Math.min(y, window.innerHeight - r.height - 4))}px`;
    this.focusAt(0);
  }

  close(restoreFocus = true): void {
    if (this.element.hidden) return;
    this.element.hidden = true;
    this.element.replaceChildren();
    if (restoreFocus) this.returnFocus?.focus();
    this.returnFocus = null;
  }

  dispose(): void {
    document.removeEventListener('pointerdown', this.onDocDown, true);
    this.element.remove();
  }

  private get items(): MenuItem[] {
    return this.stack[this.stack.length - 1] ?? [];
  }

  private render(): void {
    const els: HTMLElement[] = [];
    this.items.forEach((it, i) => {
      if (it.separatorBefore) els.push(h('div', { role: 'separator', class: 'qlg-menu-sep' }));
      els.push(h('div', { role: 'menuitem', tabindex: -1, class: 'qlg-menu-item', 'data-index': i, 'data-testid': it.testId, 'aria-haspopup': it.submenu ? 'menu' : undefined, 'aria-keyshortcuts': it.hint ? it.hint.replace('Del', 'Delete') : undefined },
        h('span', {}, it.label), it.hint ? h('span', { class: 'qlg-menu-hint' }, it.hint) : null));
    });
    this.element.replaceChildren(...els);
  }

  private menuItems(): HTMLElement[] {
    return [...this.element.querySelectorAll<HTMLElement>('[role=menuitem]')];
  }

  private focusAt(i: number): void {
    const els = this.menuItems();
    if (!els.length) return;
    els[(i + els.length) % els.length].focus();
  }

  private activate(i: number): void {
    const it = this.items[i];
    if (!it) return;
    if (it.submenu) {
      this.stack.push(it.submenu());
      this.render();
      this.focusAt(0);
      return;
    }
    this.close();
    it.run?.();
  }

  private onKey(ev: KeyboardEvent): void {
    const els = this.menuItems();
    const cur = els.indexOf(document.activeElement as HTMLElement);
    switch (ev.key) {
      case 'ArrowDown': this.focusAt(cur + 1); break;
      case 'ArrowUp': this.focusAt(cur - 1); break;
      case 'Home': this.focusAt(0); break;
      case 'End': this.focusAt(els.length - 1); break;
      case 'Enter': case ' ': if (cur >= 0) this.activate(Number(els[cur].dataset.index)); break;
      case 'ArrowRight': if (cur >= 0 && this.items[Number(els[cur].dataset.index)]?.submenu) this.activate(Number(els[cur].dataset.index)); break;
      case 'ArrowLeft': case 'Escape':
        if (this.stack.length > 1) {
          this.stack.pop();
          this.render();
          this.focusAt(0);
        } else if (ev.key === 'Escape') this.close();
        break;
      case 'Tab': this.close(); break;
      default: {
        // A shortcut pressed while the menu is open runs its item.
        const i = this.items.findIndex((it) => it.hint && (it.hint === ev.key || (it.hint === 'Del' && (ev.key === 'Delete' || ev.key === 'Backspace'))));
        if (i >= 0) this.activate(i);
        else return;
      }
    }
    ev.preventDefault();
    ev.stopPropagation();
  }
}
