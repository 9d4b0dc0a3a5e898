// What the client said it can take (LSP 3.17 client capabilities), and the core's results
// reshaped to fit: plain-text completion items for clients without snippets, plaintext
// documentation and hovers for clients that do not list markdown, completion kinds from the
// client's value set, flat symbols, commands instead of code-action literals, and nothing
// VS Code-only (`editor.action.triggerSuggest`, `|width=` image sizes) for other clients.
// The core keeps producing one LSP shape (markdown, snippets, hierarchical symbols); only
// server.ts calls this file.

import type {
  ClientCapabilities,
  CodeAction,
  Command,
  CompletionItem,
  CompletionItemKind,
  CompletionList,
  DocumentSymbol,
  Hover,
  MarkupContent,
  SymbolInformation,
} from 'vscode-languageserver';

/** The command a client without code-action literals runs to apply a quick fix. */
export const APPLY_FIX_COMMAND = 'kling.applyFix';

export interface ClientProfile {
  /** `completionItem.snippetSupport`: `${1:…}` placeholders and multi-line insertions. */
  snippets: boolean;
  /** `completionItem.documentationFormat` lists markdown. */
  completionMarkdown: boolean;
  /** `hover.contentFormat` lists markdown. */
  hoverMarkdown: boolean;
  /** `completionItemKind.valueSet`, or 1–18 (Text … Reference) when the client declares none. */
  completionKinds: ReadonlySet<number>;
  /** `documentSymbol.hierarchicalDocumentSymbolSupport`; else `SymbolInformation[]`. */
  hierarchicalSymbols: boolean;
  /** `codeAction.codeActionLiteralSupport`; else quick fixes travel as `Command`s. */
  codeActionLiterals: boolean;
  /** `workspace.applyEdit`: the server may ask the client to apply an edit (for those commands). */
  applyEdit: boolean;
  /** `rename.prepareSupport`. */
  prepareRename: boolean;
  /**
   * VS Code (the project's extension says so in `initializationOptions.vscode`, other VS Code
   * builds by `clientInfo.name`): it runs `editor.action.triggerSuggest` and reads `|width=`.
   */
  vscode: boolean;
}

const VSCODE_NAMES = /^(visual studio code|code - oss|vscodium|code-server|cursor)\b/i;

/** Reads a client's capabilities (and who it is) once, at initialize. */
export function clientProfile(
  caps: ClientCapabilities,
  clientInfo?: { name: string },
  initializationOptions?: unknown,
): ClientProfile {
  const td = caps.textDocument;
  const item = td?.completion?.completionItem;
  const valueSet = td?.completion?.completionItemKind?.valueSet;
  const fromInit =
    !!initializationOptions &&
    typeof initializationOptions === 'object' &&
    (initializationOptions as { vscode?: unknown }).vscode === true;
  return {
    snippets: item?.snippetSupport === true,
    completionMarkdown: item?.documentationFormat?.includes('markdown') === true,
    hoverMarkdown: td?.hover?.contentFormat?.includes('markdown') === true,
    completionKinds: new Set(
      Array.isArray(valueSet) && valueSet.length
        ? valueSet
        : Array.from({ length: 18 }, (_, i) => i + 1),
    ),
    hierarchicalSymbols: td?.documentSymbol?.hierarchicalDocumentSymbolSupport === true,
    codeActionLiterals: td?.codeAction?.codeActionLiteralSupport !== undefined,
    applyEdit: caps.workspace?.applyEdit === true,
    prepareRename: td?.rename?.prepareSupport === true,
    vscode: fromInit || VSCODE_NAMES.test(clientInfo?.name ?? ''),
  };
}

// ---- markdown → what the client reads ----

/** `![alt](uri)` with VS Code's optional `|width=N` size; alt may hold markdown escapes. */
const IMAGE = /!\[((?:\\.|[^\]\\])*)\]\(([^)\s|]+)(?:\|width=\d+)?\)/g;
/** One pass over the markdown the core writes: images, escapes, emphasis and code marks. */
const MARKDOWN_TOKEN = /!\[((?:\\.|[^\]\\])*)\]\(([^)\s|]+)(?:\|width=\d+)?\)|\\(.)|\*\*|\*|`/g;
const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** Markdown for a client that is not VS Code: images become plain links, without `|width=`. */
export function portableMarkdown(value: string): string {
  return value.replace(IMAGE, (_, alt: string, uri: string) => `[${alt}](${uri})`);
}

/** The markdown the core writes, as plain text: no marks or escapes; images as `alt: uri`. */
export function markdownToPlain(value: string): string {
  return value.replace(
    MARKDOWN_TOKEN,
    (_m, alt: string | undefined, uri: string | undefined, escaped: string | undefined) =>
      uri !== undefined ? `${unescape(alt ?? '')}: ${uri}` : (escaped ?? ''),
  );
}

function markup(value: string, markdown: boolean, vscode: boolean): MarkupContent {
  if (!markdown) return { kind: 'plaintext', value: markdownToPlain(value) };
  return { kind: 'markdown', value: vscode ? value : portableMarkdown(value) };
}

// ---- completion ----

/** Kinds the core uses that are newer than 1–18, and the older kind that says nearly the same. */
const KIND_FALLBACK: Record<number, CompletionItemKind> = { 20: 12 /* EnumMember → Value */ };

/** A snippet's text as the plain text it would insert first, on one line (placeholders kept). */
export function snippetToPlain(snippet: string): string {
  const text = snippet.replace(
    /\\([$}\\])|\$\{\d+:((?:\\.|[^}\\])*)\}|\$\{\d+\}|\$\d+/g,
    (_m, escaped: string | undefined, placeholder: string | undefined) =>
      escaped ?? placeholder?.replace(/\\([$}\\])/g, '$1') ?? '',
  );
  const nl = text.indexOf('\n');
  return nl === -1 ? text : text.slice(0, nl);
}

function adaptItem(item: CompletionItem, p: ClientProfile): CompletionItem {
  const out: CompletionItem = { ...item };
  if (out.kind !== undefined && !p.completionKinds.has(out.kind)) {
    const fallback = KIND_FALLBACK[out.kind];
    if (fallback !== undefined && p.completionKinds.has(fallback)) out.kind = fallback;
    else delete out.kind;
  }
  if (typeof out.documentation === 'object')
    out.documentation = markup(out.documentation.value, p.completionMarkdown, p.vscode);
  if (out.command && !p.vscode) delete out.command;
  if (!p.snippets) {
    if (out.insertTextFormat === 2) {
      if (out.textEdit)
        out.textEdit = { ...out.textEdit, newText: snippetToPlain(out.textEdit.newText) };
      if (out.insertText !== undefined) out.insertText = snippetToPlain(out.insertText);
    }
    delete out.insertTextFormat;
    // Without snippets the client inserts the text as is and filters on the label; a
    // filterText makes Neovim 0.7 ignore the item's range (a doubled `[`).
    delete out.filterText;
  }
  return out;
}

export function adaptCompletion(list: CompletionList, p: ClientProfile): CompletionList {
  return { ...list, items: list.items.map((i) => adaptItem(i, p)) };
}

// ---- hover ----

export function adaptHover(h: Hover | null, p: ClientProfile): Hover | null {
  if (!h) return h;
  const c = h.contents;
  if (typeof c === 'object' && 'kind' in c) {
    return { ...h, contents: markup(c.value, p.hoverMarkdown, p.vscode) };
  }
  return h;
}

// ---- symbols ----

export function adaptSymbols(
  symbols: DocumentSymbol[],
  uri: string,
  p: ClientProfile,
): DocumentSymbol[] | SymbolInformation[] {
  if (p.hierarchicalSymbols) return symbols;
  const out: SymbolInformation[] = [];
  const visit = (list: DocumentSymbol[], container?: string) => {
    for (const s of list) {
      const info: SymbolInformation = {
        name: s.name,
        kind: s.kind,
        location: { uri, range: s.range },
      };
      if (container !== undefined) info.containerName = container;
      out.push(info);
      if (s.children?.length) visit(s.children, s.name);
    }
  };
  visit(symbols);
  return out;
}

// ---- code actions ----

/**
 * Code-action literals for clients that take them; else one `Command` per fix, which the
 * client sends back through `workspace/executeCommand` for the server to apply with
 * `workspace/applyEdit`. The edit travels as the command's argument, so a client without
 * `workspace.applyEdit` can still read it.
 */
export function adaptCodeActions(
  actions: CodeAction[],
  p: ClientProfile,
): (CodeAction | Command)[] {
  if (p.codeActionLiterals) return actions;
  return actions
    .filter((a) => a.edit)
    .map((a) => ({ title: a.title, command: APPLY_FIX_COMMAND, arguments: [a.edit] }));
}
