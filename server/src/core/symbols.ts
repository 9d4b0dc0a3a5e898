// Outline and folding: scenes ▸ shots, elements; one fold per block.

import type { DocumentSymbol, FoldingRange } from 'vscode-languageserver-types';
import type { Analysis } from './analysis';
import type { ShotBlock } from './ast';

// LSP SymbolKind / FoldingRangeKind values, written out so the core needs the types only.
const SYMBOL_KIND = { Namespace: 3, Class: 5, Event: 24, Module: 2 } as const;

/** The outline: every scene (its shots as children) and every element, in document order. */
export function documentSymbols(a: Analysis): DocumentSymbol[] {
  const { storyboard } = a.parsed;
  const { index } = a;
  const out: DocumentSymbol[] = [];
  const shotSymbol = (shot: ShotBlock, n: number | undefined): DocumentSymbol => ({
    name: `${n === undefined ? 'Shot outside any scene' : `Shot ${n}`}${shot.label ? `: ${shot.label}` : ''}`,
    detail: `${shot.duration} s`,
    kind: SYMBOL_KIND.Event,
    range: index.rangeOf(shot.span),
    selectionRange: index.rangeOf(shot.headerSpan),
  });
  for (const block of storyboard.blocks) {
    if (block.kind === 'scene') {
      const sum = block.shots.reduce((s, shot) => s + shot.duration, 0);
      const ownDuration = block.settings.find((s) => s.key === 'duration')?.value;
      const detail = block.shots.length
        ? `${block.shots.length} shot${block.shots.length === 1 ? '' : 's'} · ${sum} s`
        : ownDuration
          ? `${ownDuration.replace(/s$/, '')} s`
          : '';
      out.push({
        name: block.displayTitle,
        detail,
        kind: SYMBOL_KIND.Namespace,
        range: index.rangeOf(block.fullSpan),
        selectionRange: index.rangeOf(block.headerSpan),
        children: block.shots.map((shot, i) => shotSymbol(shot, i + 1)),
      });
    } else if (block.kind === 'element') {
      out.push({
        name: `@${block.name}`,
        detail: 'element',
        kind: SYMBOL_KIND.Class,
        range: index.rangeOf(block.span),
        selectionRange: index.rangeOf(block.nameSpan),
      });
    } else if (block.kind === 'shot' && block.sceneIndex === undefined) {
      out.push(shotSymbol(block, undefined));
    }
  }
  return out;
}

/** Folding ranges: each block from its header to its last line (a scene over its shots too), and runs of comments. */
export function foldingRanges(a: Analysis): FoldingRange[] {
  const { storyboard } = a.parsed;
  const out: FoldingRange[] = [];
  for (const block of storyboard.blocks) {
    const end = block.kind === 'scene' ? block.fullEndLine : block.endLine;
    if (end > block.headerLine) out.push({ startLine: block.headerLine, endLine: end });
  }
  const comments = storyboard.comments;
  for (let i = 0; i < comments.length;) {
    let j = i;
    while (j + 1 < comments.length && comments[j + 1].line === comments[j].line + 1) j++;
    if (j > i)
      out.push({ startLine: comments[i].line, endLine: comments[j].line, kind: 'comment' });
    i = j + 1;
  }
  return out;
}
