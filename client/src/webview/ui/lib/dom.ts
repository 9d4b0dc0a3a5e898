// Tiny DOM helpers for the panels' browser code. Text always goes in through textContent, never
// innerHTML, so prompts and file names cannot inject markup.

type Child = Node | string | false | null | undefined;
type Attrs = Record<string, string | number | boolean | undefined | EventListener>;

/** Creates an element with attributes (on* keys become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'style') {
      // CSP forbids inline style attributes; CSSOM properties are allowed.
      for (const decl of String(value).split(';')) {
        const [prop, ...rest] = decl.split(':');
        if (prop?.trim() && rest.length) el.style.setProperty(prop.trim(), rest.join(':').trim());
      }
    } else if (key === 'className') {
      el.className = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Replaces the children of `#app`. */
export function render(...children: Child[]): void {
  const app = document.getElementById('app');
  if (!app) return;
  app.replaceChildren(...children.filter((c): c is Node | string => !!c));
}

/** Seconds as "1 min 05 s" / "42 s". */
export function formatSeconds(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The webview API object VS Code injects (acquire once per page). */
export interface VsCodeApi<TState> {
  postMessage(message: unknown): void;
  getState(): TState | undefined;
  setState(state: TState): void;
}

declare function acquireVsCodeApi<TState>(): VsCodeApi<TState>;

let api: VsCodeApi<unknown> | undefined;
/** The page's VS Code API (acquireVsCodeApi may only be called once). */
export function vscodeApi<TState>(): VsCodeApi<TState> {
  api ??= acquireVsCodeApi<unknown>();
  return api as VsCodeApi<TState>;
}
