// The language service: the one entry the language server, the extension and the CLI use.
// Inputs are injected through narrow interfaces (media facts, a workspace file lister, a
// logger); every call takes a cancellation token; results are LSP-shaped plain data. The
// parse is cached per document version, so a burst of requests after an edit parses once.

import type {
  CodeAction,
  CompletionList,
  Diagnostic,
  DocumentHighlight,
  DocumentSymbol,
  FoldingRange,
  Hover,
  Location,
  Position,
  Range,
  TextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver-types';
import { codeActions } from './actions';
import { dirname, resolvePath, uriToPath, type Analysis } from './analysis';
import type { Provider, Setting } from './ast';
import { NEVER_CANCELLED, type CancellationToken } from './cancel';
import { complete, type WorkspaceFileLister } from './complete';
import { DIAGNOSTIC_SEVERITY, type Severity, type StoryboardDiagnostic } from './diagnostics';
import type { CostObservation, RateTable } from './estimate';
import { formatDocument } from './format';
import { hover, type MediaFactsProvider } from './hover';
import { isUrl, type MediaFacts, type MediaLookup } from './media';
import { definition, highlights, prepareRename, references, rename } from './navigate';
import { reparse, textChange } from './incremental';
import { outputAsWritten } from './resolve';
import { parseStoryboard } from './parse';
import { settingSpec, splitMediaList } from './settings';
import { documentSymbols, foldingRanges } from './symbols';
import { LineIndex } from './text';
import { beginValidation, createSceneCache } from './validate';
import { continuityFrames, storyboardNameFromPath } from './continuity';

export type { Analysis } from './analysis';
export type { CancellationToken } from './cancel';
export type { WorkspaceFileLister } from './complete';
export type { MediaFactsProvider } from './hover';

/** A text document as the service needs it (vscode-languageserver-textdocument's TextDocument fits). */
export interface ServiceDocument {
  readonly uri: string;
  readonly version: number;
  getText(): string;
}

/** Where the service reports its own failures (never user data or secrets). */
export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

/** A user's severity for a code, or `off` to hide it. */
export type SeverityOverride = Severity | 'off';

export interface ServiceSettings {
  /** Provider for storyboards without a `provider:` line (`kling.defaultProvider`). */
  defaultProvider: Provider;
  /** Per-code severity (`kling.diagnostics.severity`). */
  severity: Readonly<Record<string, SeverityOverride>>;
  /** At most this many diagnostics per document, so garbage cannot flood the client. */
  maxDiagnostics: number;
  /** The user's per-second rates for cost estimates (`kling.rates`). */
  rates?: Partial<RateTable>;
  /** Output folder of storyboards without `output:` (`kling.outputFolder`); default `renders`. */
  outputFolder?: string;
}

export interface LanguageServiceInit {
  /** Facts about a local file by absolute path (first bytes + size); undefined when unknown. */
  media?: MediaFactsProvider;
  /** Files under a folder, relative to it, for media-path completion. */
  listFiles?: WorkspaceFileLister;
  /**
   * Costs providers reported for a storyboard's earlier takes, given its path and its output
   * folder (absolute): they refine the cost estimate on a scene header hover.
   */
  costHistory?: (
    storyboardPath: string,
    outputDir: string,
  ) => Promise<readonly CostObservation[]> | readonly CostObservation[];
  logger?: Logger;
  settings?: Partial<ServiceSettings>;
  /**
   * Lets other work run between parsing and validating (the server passes a setImmediate
   * promise), so an edit that arrives meanwhile cancels the validation before it starts.
   */
  yieldToEventLoop?: () => Promise<void>;
  /**
   * How long diagnostics with `early` wait for media files being read before publishing what
   * is known: a new promise per call that resolves when the wait is over (the server: 200 ms).
   * Without it they publish what is known at once.
   */
  mediaPatience?: () => Promise<void>;
  /**
   * Runs work nobody is waiting for once the current result is out (the server: after the
   * diagnostics are written). Without it that work runs at once.
   */
  afterward?: (work: () => void) => void;
}

/** A reference to a local media file found in a document. */
export interface MediaReference {
  /** As written in the document. */
  ref: string;
  /** Resolved against the document's folder. */
  path: string;
  kind: 'image' | 'video';
}

export interface LanguageService {
  /** Replaces some settings (provider default, severities, cap). */
  configure(settings: Partial<ServiceSettings>): void;
  readonly settings: Readonly<ServiceSettings>;
  /** The parsed document (cached per uri + version). */
  analyze(doc: ServiceDocument): Analysis;
  /** Core diagnostics (offsets, unfiltered), for the CLI. */
  validate(doc: ServiceDocument, token?: CancellationToken): Promise<StoryboardDiagnostic[]>;
  /**
   * What the editor shows, as core diagnostics (offsets): suppressions applied, severities
   * overridden, `off` codes removed, in document order, not capped. The CLI's `check` uses it.
   */
  check(doc: ServiceDocument, token?: CancellationToken): Promise<StoryboardDiagnostic[]>;
  /**
   * LSP diagnostics: severities overridden, `off` codes removed, capped, in document order.
   * With `early`, a document whose media files are still being read when the wait given by
   * `mediaPatience` is over (a slow or sleeping disk, a network share) is checked twice: `early`
   * gets the diagnostics of what is known (a file still being read gets no media diagnostic
   * yet), and the promise resolves with the complete list once every file has been read.
   */
  diagnostics(
    doc: ServiceDocument,
    token?: CancellationToken,
    early?: (diagnostics: Diagnostic[]) => void,
  ): Promise<Diagnostic[]>;
  complete(
    doc: ServiceDocument,
    position: Position,
    token?: CancellationToken,
  ): Promise<CompletionList>;
  hover(doc: ServiceDocument, position: Position, token?: CancellationToken): Promise<Hover | null>;
  definition(doc: ServiceDocument, position: Position, token?: CancellationToken): Location[];
  references(
    doc: ServiceDocument,
    position: Position,
    includeDeclaration: boolean,
    token?: CancellationToken,
  ): Location[];
  /** The element under the cursor: its definition and references, for highlighting. */
  highlights(
    doc: ServiceDocument,
    position: Position,
    token?: CancellationToken,
  ): DocumentHighlight[];
  prepareRename(
    doc: ServiceDocument,
    position: Position,
    token?: CancellationToken,
  ): { range: Range; placeholder: string } | { error: string };
  rename(
    doc: ServiceDocument,
    position: Position,
    newName: string,
    token?: CancellationToken,
  ): WorkspaceEdit | { error: string };
  documentSymbols(doc: ServiceDocument, token?: CancellationToken): DocumentSymbol[];
  foldingRanges(doc: ServiceDocument, token?: CancellationToken): FoldingRange[];
  format(doc: ServiceDocument, token?: CancellationToken): TextEdit[];
  codeActions(
    doc: ServiceDocument,
    range: Range,
    diagnostics: readonly Diagnostic[],
    token?: CancellationToken,
  ): CodeAction[];
  /** The local media files a document references (to watch them, or to prefetch their facts). */
  mediaReferences(doc: ServiceDocument): MediaReference[];
  /**
   * Drops the cached parse of a closed document. The parse of the last closed document (under
   * REOPEN_MAX_LENGTH) is kept aside until another is closed: a document opened again with the
   * same text — a tab closed and reopened, a file renamed or moved — is not parsed again.
   */
  forget(uri: string): void;
}

const LSP_SEVERITY: Record<Severity, 1 | 2 | 3 | 4> = {
  error: 1,
  warning: 2,
  information: 3,
  hint: 4,
};
const DEFAULT_SETTINGS: ServiceSettings = {
  defaultProvider: 'kie',
  severity: {},
  maxDiagnostics: 1000,
};

/** Longest text whose parse is kept after its document is closed (see `forget`). */
const REOPEN_MAX_LENGTH = 2 * 1024 * 1024;

/** Creates the language service over injected media facts, file lister and logger. */
export function createLanguageService(init: LanguageServiceInit = {}): LanguageService {
  let settings: ServiceSettings = { ...DEFAULT_SETTINGS, ...init.settings };
  const cache = new Map<string, Analysis>();
  /** Scene diagnostics kept between validations: an edit re-checks only the scenes it touched. */
  const sceneCache = createSceneCache();
  const logger = init.logger;

  /** The last closed document's analysis (see `forget`); taken, not shared, when reused. */
  let closed: Analysis | undefined;

  const analyze = (doc: ServiceDocument): Analysis => {
    const text = doc.getText();
    const cached = cache.get(doc.uri);
    if (cached && cached.version === doc.version && cached.text === text) return cached;
    if (!cached && closed?.text === text) {
      // The tree and line index depend on the text alone; everything that depends on the
      // document's place (media paths, the storyboard's name) is worked out by the caller.
      const reopened: Analysis = { ...closed, uri: doc.uri, version: doc.version };
      closed = undefined;
      cache.set(doc.uri, reopened);
      return reopened;
    }
    // The previous parse is reused outside the edited scenes (and shifted in place: it is
    // replaced in the cache right here, so nothing asks for it again).
    cache.delete(doc.uri);
    const change = cached && textChange(cached.text, text);
    const parsed =
      (cached &&
        change &&
        reparse(cached.parsed, cached.text, cached.index.lineStarts, text, undefined, change)) ??
      parseStoryboard(text);
    const a: Analysis = {
      uri: doc.uri,
      version: doc.version,
      text,
      parsed,
      // The line starts outside the edit are moved, not found again.
      index:
        cached && change
          ? LineIndex.edited(
              cached.index,
              text,
              change.start,
              change.oldEnd,
              text.length - cached.text.length,
            )
          : new LineIndex(text),
    };
    cache.set(doc.uri, a);
    return a;
  };

  const folderOf = (uri: string): string | undefined => {
    const path = uriToPath(uri);
    return path === undefined ? undefined : dirname(path);
  };

  /** Reads the reported costs of a saved storyboard's takes, when the host can. */
  const historyOf = (a: Analysis, uri: string) => {
    const path = uriToPath(uri);
    const read = init.costHistory;
    if (!read || path === undefined) return undefined;
    const outputDir = resolvePath(
      dirname(path),
      outputAsWritten(a.parsed.storyboard, settings.outputFolder),
    );
    return () => read(path, outputDir);
  };

  /** Resolved paths by folder + reference: most lines repeat between versions of a document. */
  const resolved = new Map<string, string>();
  const resolveRef = (folder: string, ref: string): string => {
    const key = `${folder}\u0000${ref}`;
    let path = resolved.get(key);
    if (path === undefined) {
      if (resolved.size > 50_000) resolved.clear();
      path = resolvePath(folder, ref);
      resolved.set(key, path);
    }
    return path;
  };

  /**
   * Every local media reference a document writes (URLs left out), `continue-from` frames
   * included: the server re-checks a document when one of these files changes. More than the
   * checks read (`ValidationRun.mediaRefs`: a header's or a multi-shot scene's `last-frame` is
   * named here too), which only costs a needless re-check.
   */
  const mediaReferences = (a: Analysis): MediaReference[] => {
    const folder = folderOf(a.uri);
    if (folder === undefined) return [];
    const out: MediaReference[] = [];
    const add = (ref: string, kind: 'image' | 'video') =>
      out.push({ ref, path: resolveRef(folder, ref), kind });
    const zone = (list: readonly Setting[]) => {
      for (const s of list) {
        const spec = settingSpec(s.key);
        if (!spec?.media || !s.value) continue;
        if (spec.kind === 'media') {
          if (!isUrl(s.value)) add(s.value, spec.media);
        } else if (spec.kind === 'media-list') {
          for (const item of splitMediaList(s.value, 0)) {
            if (item.ref && !isUrl(item.ref)) add(item.ref, spec.media);
          }
        }
      }
    };
    const { storyboard } = a.parsed;
    zone(storyboard.headerSettings);
    for (const b of storyboard.blocks) {
      if (b.kind === 'scene' || b.kind === 'element') zone(b.settings);
    }
    // Whether a `continue-from` frame exists decides `continuity-pending`.
    if (storyboard.scenes.length)
      for (const f of continuityFrames(
        storyboard,
        storyboardNameFromPath(a.uri),
        settings.outputFolder,
      ).values())
        add(f.ref, 'image');
    return out;
  };

  const validate = async (
    doc: ServiceDocument,
    token: CancellationToken = NEVER_CANCELLED,
    early?: (list: StoryboardDiagnostic[]) => void,
  ) => {
    const a = analyze(doc);
    if (init.yieldToEventLoop) await init.yieldToEventLoop();
    if (token.isCancellationRequested) return [];
    // The checks run first; the files they name are read after (most answers come from the
    // server's cache at once), and only the media diagnostics wait for them.
    const run = beginValidation(a.parsed, {
      token,
      defaultProvider: settings.defaultProvider,
      storyboardName: storyboardNameFromPath(a.uri),
      defaultOutput: settings.outputFolder,
      sceneCache,
    });
    if (token.isCancellationRequested) return [];
    const folder = folderOf(a.uri);
    const lookup = init.media;
    /** The complete list; then the scenes it checked are kept for the next run (not waited for). */
    const complete = (media: MediaLookup | undefined) => {
      const list = run.finish(media);
      if (init.afterward) init.afterward(() => run.keep());
      else run.keep();
      return list;
    };
    if (!lookup || folder === undefined) return complete(undefined);
    const facts = new Map<string, MediaFacts | undefined>();
    const waiting: Promise<void>[] = [];
    for (const ref of run.mediaRefs) {
      const f = lookup(resolveRef(folder, ref), token);
      // Most lookups are answered from the server's cache synchronously; await only real promises.
      if (f && typeof (f as Promise<unknown>).then === 'function') {
        facts.set(ref, undefined);
        waiting.push((f as Promise<MediaFacts | undefined>).then((v) => void facts.set(ref, v)));
      } else {
        facts.set(ref, f as MediaFacts | undefined);
      }
    }
    const media = (ref: string) => facts.get(ref);
    if (waiting.length) {
      const all = Promise.all(waiting);
      const read =
        early &&
        (await Promise.race([
          all.then(() => true),
          (init.mediaPatience?.() ?? Promise.resolve()).then(() => false),
        ]));
      // What is known now (a file still being read is unknown: no media diagnostic), then all of it.
      if (early && !read && !token.isCancellationRequested) early(run.finish(media));
      await all;
      if (token.isCancellationRequested) return [];
    }
    return complete(media);
  };

  /** The user's severities applied (`off` codes dropped), in document order. */
  const overridden = (list: StoryboardDiagnostic[]): StoryboardDiagnostic[] => {
    const kept: StoryboardDiagnostic[] = [];
    for (const d of list) {
      const override = settings.severity[d.code];
      if (override === 'off') continue;
      const severity =
        override && override in LSP_SEVERITY
          ? override
          : (DIAGNOSTIC_SEVERITY[d.code] ?? d.severity);
      kept.push(severity === d.severity ? d : { ...d, severity });
    }
    return kept.sort((x, y) => x.span.offset - y.span.offset);
  };

  const toLsp = (a: Analysis, list: StoryboardDiagnostic[]): Diagnostic[] => {
    return overridden(list)
      .slice(0, settings.maxDiagnostics)
      .map((d) => {
        const out: Diagnostic = {
          range: a.index.rangeOf(d.span),
          severity: LSP_SEVERITY[d.severity],
          code: d.code,
          source: 'kling',
          message: d.message,
        };
        if (d.unnecessary) out.tags = [1];
        if (d.data) out.data = d.data;
        return out;
      });
  };

  const offsetOf = (a: Analysis, p: Position) => a.index.offsetAt(p);

  return {
    get settings() {
      return settings;
    },
    configure(next) {
      settings = { ...settings, ...next };
    },
    analyze,
    validate,
    async check(doc, token = NEVER_CANCELLED) {
      return overridden(await validate(doc, token));
    },
    async diagnostics(doc, token = NEVER_CANCELLED, early) {
      const a = analyze(doc);
      const list = await validate(doc, token, early && ((known) => early(toLsp(a, known))));
      return toLsp(a, list);
    },
    complete(doc, position, token = NEVER_CANCELLED) {
      const a = analyze(doc);
      return complete(
        a,
        offsetOf(a, position),
        {
          folder: folderOf(doc.uri),
          listFiles: init.listFiles,
          defaultProvider: settings.defaultProvider,
        },
        token,
      );
    },
    async hover(doc, position, token = NEVER_CANCELLED) {
      const a = analyze(doc);
      try {
        return await hover(
          a,
          offsetOf(a, position),
          {
            folder: folderOf(doc.uri),
            media: init.media,
            defaultProvider: settings.defaultProvider,
            defaultOutput: settings.outputFolder,
            estimate: { overrides: settings.rates },
            history: historyOf(a, doc.uri),
          },
          token,
        );
      } catch (e) {
        logger?.error(`hover failed: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      }
    },
    definition(doc, position) {
      const a = analyze(doc);
      return definition(a, offsetOf(a, position));
    },
    references(doc, position, includeDeclaration) {
      const a = analyze(doc);
      return references(a, offsetOf(a, position), includeDeclaration);
    },
    highlights(doc, position) {
      const a = analyze(doc);
      return highlights(a, offsetOf(a, position));
    },
    prepareRename(doc, position) {
      const a = analyze(doc);
      return prepareRename(a, offsetOf(a, position));
    },
    rename(doc, position, newName) {
      const a = analyze(doc);
      return rename(a, offsetOf(a, position), newName);
    },
    documentSymbols(doc) {
      return documentSymbols(analyze(doc));
    },
    foldingRanges(doc) {
      return foldingRanges(analyze(doc));
    },
    format(doc) {
      return formatDocument(analyze(doc));
    },
    codeActions(doc, _range, diagnostics) {
      return codeActions(analyze(doc), diagnostics);
    },
    mediaReferences(doc) {
      return mediaReferences(analyze(doc));
    },
    forget(uri) {
      const a = cache.get(uri);
      cache.delete(uri);
      if (a && a.text.length <= REOPEN_MAX_LENGTH) closed = a;
    },
  };
}
