// Tokenizes `.kling` text with the real TextMate engine VS Code uses (vscode-textmate +
// vscode-oniguruma), so tests can look at the scopes of whole documents.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

export const repoRoot = path.resolve(__dirname, '../..');
export const grammarPath = path.join(repoRoot, 'syntaxes/kling.tmLanguage.json');

/** One token: its text, the line it is on and its scopes (outermost first, `source.kling` left out). */
export interface Token {
  line: number;
  text: string;
  scopes: string[];
}

let grammarPromise: Promise<textmate.IGrammar> | undefined;

/** Loads syntaxes/kling.tmLanguage.json once per process. */
export function loadKlingGrammar(): Promise<textmate.IGrammar> {
  grammarPromise ??= (async () => {
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new textmate.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
        createOnigString: (text: string) => new oniguruma.OnigString(text),
      }),
      loadGrammar: async (scopeName) =>
        scopeName === 'source.kling'
          ? textmate.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath)
          : null,
    });
    const grammar = await registry.loadGrammar('source.kling');
    if (!grammar) throw new Error('source.kling did not load');
    return grammar;
  })();
  return grammarPromise;
}

/** Tokenizes a whole document line by line, carrying the rule stack as an editor does. */
export async function tokenize(text: string): Promise<Token[]> {
  return tokenizeWith(await loadKlingGrammar(), text);
}

/** The same, with a grammar already loaded (synchronous, for property tests). */
export function tokenizeWith(grammar: textmate.IGrammar, text: string): Token[] {
  const tokens: Token[] = [];
  let stack = textmate.INITIAL;
  text.split(/\r?\n/).forEach((lineText, line) => {
    const result = grammar.tokenizeLine(lineText, stack);
    for (const t of result.tokens) {
      const tokenText = lineText.slice(t.startIndex, t.endIndex);
      if (tokenText) tokens.push({ line, text: tokenText, scopes: t.scopes.slice(1) });
    }
    stack = result.ruleStack;
  });
  return tokens;
}

/** True when some scope of the token is `prefix` or starts with `prefix.`. */
export function hasScope(token: Token, prefix: string): boolean {
  return token.scopes.some((s) => s === prefix || s.startsWith(`${prefix}.`));
}
