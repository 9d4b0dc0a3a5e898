// Go to definition, find references and rename, for elements (`[element NAME]` ↔ `@NAME`).

import type {
  DocumentHighlight,
  Location,
  Range,
  TextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver-types';
import { allRefs, elementNameAt, findElement, refAt, type Analysis } from './analysis';
import { ELEMENT_NAME } from './parse';
import type { Span } from './ast';

/** The element name under the offset, and the span of that name (a reference's or the header's). */
export function elementSymbolAt(
  a: Analysis,
  offset: number,
): { name: string; nameSpan: Span } | undefined {
  const ref = refAt(a, offset);
  if (ref) return { name: ref.name, nameSpan: ref.nameSpan };
  const el = elementNameAt(a, offset);
  if (el) return { name: el.name, nameSpan: el.nameSpan };
  return undefined;
}

/** `@NAME` → the name in its `[element NAME]` header. */
export function definition(a: Analysis, offset: number): Location[] {
  const sym = elementSymbolAt(a, offset);
  if (!sym) return [];
  const el = findElement(a.parsed.storyboard, sym.name);
  return el ? [{ uri: a.uri, range: a.index.rangeOf(el.nameSpan) }] : [];
}

/** Every `@NAME` of the element under the offset, plus its definition(s) when asked. */
export function references(a: Analysis, offset: number, includeDeclaration: boolean): Location[] {
  const sym = elementSymbolAt(a, offset);
  if (!sym) return [];
  const out: Location[] = [];
  if (includeDeclaration) {
    for (const el of a.parsed.storyboard.elements) {
      if (el.name === sym.name) out.push({ uri: a.uri, range: a.index.rangeOf(el.nameSpan) });
    }
  }
  for (const ref of allRefs(a.parsed.storyboard)) {
    if (ref.name === sym.name) out.push({ uri: a.uri, range: a.index.rangeOf(ref.span) });
  }
  return out;
}

/** Highlights for the element under the offset: its definition (Write) and every reference (Read). */
export function highlights(a: Analysis, offset: number): DocumentHighlight[] {
  const sym = elementSymbolAt(a, offset);
  if (!sym) return [];
  const out: DocumentHighlight[] = [];
  for (const el of a.parsed.storyboard.elements) {
    if (el.name === sym.name) out.push({ range: a.index.rangeOf(el.nameSpan), kind: 3 });
  }
  for (const ref of allRefs(a.parsed.storyboard)) {
    if (ref.name === sym.name) out.push({ range: a.index.rangeOf(ref.span), kind: 2 });
  }
  return out;
}

/** The range that would be renamed and its current name, or an error message explaining why not. */
export function prepareRename(
  a: Analysis,
  offset: number,
): { range: Range; placeholder: string } | { error: string } {
  const sym = elementSymbolAt(a, offset);
  if (!sym)
    return { error: 'Only elements can be renamed: put the cursor on `@name` or `[element name]`' };
  return { range: a.index.rangeOf(sym.nameSpan), placeholder: sym.name };
}

/** Renames an element: its header name(s) and every `@NAME` (never a `\@name`, which is not a reference). */
export function rename(
  a: Analysis,
  offset: number,
  newName: string,
): WorkspaceEdit | { error: string } {
  const sym = elementSymbolAt(a, offset);
  if (!sym)
    return { error: 'Only elements can be renamed: put the cursor on `@name` or `[element name]`' };
  const name = newName.startsWith('@') ? newName.slice(1) : newName;
  if (!ELEMENT_NAME.test(name)) {
    return {
      error: `\`${newName}\` is not a valid element name: use letters, digits and _, not starting with a digit`,
    };
  }
  const { storyboard } = a.parsed;
  if (name !== sym.name && storyboard.elements.some((e) => e.name === name)) {
    return { error: `An element named \`${name}\` already exists` };
  }
  const edits: TextEdit[] = [];
  for (const el of storyboard.elements) {
    if (el.name === sym.name) edits.push({ range: a.index.rangeOf(el.nameSpan), newText: name });
  }
  for (const ref of allRefs(storyboard)) {
    if (ref.name === sym.name) edits.push({ range: a.index.rangeOf(ref.nameSpan), newText: name });
  }
  return { changes: { [a.uri]: edits } };
}
