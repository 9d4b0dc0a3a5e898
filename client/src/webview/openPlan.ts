// Where "Reveal" and "Open" in the results panel send a downloaded take. On a desktop VS Code whose
// files are local, the operating system's file manager and video player are the user's own; in a
// browser-based or remote window (code-server, Codespaces, Remote-SSH) the file lives on another
// machine, `revealFileInOS` does not exist and `openExternal(file:)` would navigate the browser, so
// the take is shown with VS Code's own Explorer and video preview instead. Pure: no `vscode` import.

export interface WindowFacts {
  /** `vscode.env.uiKind === UIKind.Desktop`. */
  desktop: boolean;
  /** `vscode.env.remoteName`: set when the extension host runs on another machine. */
  remoteName: string | undefined;
  /** Whether the `revealFileInOS` command is registered in this window. */
  hasRevealFileInOS: boolean;
  /** `process.platform` of the extension host (the user's, when files are local). */
  platform: string;
}

export type RevealPlan =
  | { kind: 'os' } // revealFileInOS: the system file manager, file selected
  | { kind: 'explorer' } // revealInExplorer: VS Code's Explorer view, file selected
  | { kind: 'editor' }; // outside every workspace folder on a remote machine: open it in VS Code

export type OpenPlan =
  | { kind: 'system' } // env.openExternal(file:) — the user's default video player
  | { kind: 'editor' }; // vscode.open — VS Code's built-in video preview

/** True when the files the extension writes are on the machine the user sits at. */
export function filesAreLocal(w: WindowFacts): boolean {
  return w.desktop && !w.remoteName;
}

export function planReveal(w: WindowFacts, insideWorkspace: boolean): RevealPlan {
  if (filesAreLocal(w) && w.hasRevealFileInOS) return { kind: 'os' };
  return insideWorkspace ? { kind: 'explorer' } : { kind: 'editor' };
}

export function planOpen(w: WindowFacts): OpenPlan {
  return filesAreLocal(w) ? { kind: 'system' } : { kind: 'editor' };
}

/** The labels the results page shows for the two buttons, and the sound note's advice. */
export function takeActionLabels(w: WindowFacts): {
  reveal: string;
  open: string;
  soundAdvice: string;
} {
  if (filesAreLocal(w)) {
    return {
      reveal: w.platform === 'darwin' ? 'Reveal in Finder' : 'Reveal in File Explorer',
      open: 'Open with system player',
      soundAdvice: 'use “Open with system player” to hear it.',
    };
  }
  return {
    reveal: 'Reveal in Explorer',
    open: 'Open in VS Code',
    soundAdvice:
      'this window’s files are on another machine: download the take (Explorer → right-click → Download…) and play it locally to hear it.',
  };
}
