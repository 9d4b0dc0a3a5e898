// The extension's settings, read from `kling.*` and validated with zod at this edge: a hand-edited
// settings.json with a wrong type falls back to the default instead of reaching the engine.
import * as vscode from 'vscode';
import * as z from 'zod/mini';
import { parseRates, type RateTable } from '../../server/src/core/estimate';
import { DEFAULT_BASES, type ProviderBases, type ProviderId } from '../../server/src/render/types';

/** `kling.confirmAboveCredits` default: ask before a run estimated above this (README). */
export const DEFAULT_CONFIRM_ABOVE = 500;

export const SEVERITY_NAMES = ['error', 'warning', 'information', 'hint', 'off'] as const;
export type SeverityName = (typeof SEVERITY_NAMES)[number];

const settingsSchema = z.object({
  defaultProvider: z.catch(z.enum(['kie', 'kling']), 'kie'),
  concurrency: z.catch(z.int().check(z.minimum(1), z.maximum(10)), 2),
  outputFolder: z.catch(z.string(), 'renders'),
  pollIntervalSeconds: z.catch(z.number().check(z.minimum(1), z.maximum(120)), 3),
  timeoutMinutes: z.catch(z.number().check(z.minimum(1), z.maximum(240)), 20),
  kieApiBase: z.catch(z.string(), ''),
  kieUploadBase: z.catch(z.string(), ''),
  klingApiBase: z.catch(z.string(), ''),
  severity: z.catch(z.record(z.string(), z.enum(SEVERITY_NAMES)), {}),
  inlinePreviewsEnabled: z.catch(z.boolean(), true),
  confirmAboveCredits: z.catch(z.number().check(z.minimum(0)), DEFAULT_CONFIRM_ABOVE),
  ffmpegPath: z.catch(z.string(), ''),
});

export interface KlingSettings {
  defaultProvider: ProviderId;
  concurrency: number;
  outputFolder: string;
  pollIntervalSeconds: number;
  timeoutMinutes: number;
  kieApiBase: string;
  kieUploadBase: string;
  klingApiBase: string;
  /** Diagnostic code → severity override, as honoured by the language server. */
  severity: Record<string, SeverityName>;
  inlinePreviewsEnabled: boolean;
  /** Ask before generating when the estimate exceeds this (KIE credits / Kling units), or is unknown. */
  confirmAboveCredits: number;
  /** The user's per-second rates (`kling.rates`), unreadable entries dropped. */
  rates: Partial<RateTable>;
  /** The ffmpeg executable (Export Cut, continuity frames); empty → FFMPEG_PATH, then PATH. */
  ffmpegPath: string;
}

/** Reads `kling.*` settings; invalid values fall back to their defaults. */
export function readSettings(scope?: vscode.ConfigurationScope): KlingSettings {
  const c = vscode.workspace.getConfiguration('kling', scope);
  const severity = c.get<unknown>('diagnostics.severity', {});
  const parsed = settingsSchema.parse({
    defaultProvider: c.get('defaultProvider'),
    concurrency: c.get('concurrency'),
    outputFolder: c.get('outputFolder'),
    pollIntervalSeconds: c.get('pollIntervalSeconds'),
    timeoutMinutes: c.get('timeoutMinutes'),
    kieApiBase: c.get('kieApiBase'),
    kieUploadBase: c.get('kieUploadBase'),
    klingApiBase: c.get('klingApiBase'),
    severity: dropInvalidSeverities(severity),
    inlinePreviewsEnabled: c.get('inlinePreviews.enabled'),
    confirmAboveCredits: c.get('confirmAboveCredits'),
    ffmpegPath: c.get('ffmpegPath'),
  });
  return { ...parsed, rates: parseRates(c.get<unknown>('rates', {})).rates };
}

/** Keeps only the entries whose value is a known severity, so one typo does not discard the rest. */
function dropInvalidSeverities(raw: unknown): Record<string, SeverityName> {
  const out: Record<string, SeverityName> = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [code, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === 'string' && (SEVERITY_NAMES as readonly string[]).includes(value)) {
      out[code] = value as SeverityName;
    }
  }
  return out;
}

/**
 * Host roots: the setting, else the environment variable the CLI reads, else the public host.
 * A trailing slash is dropped because the providers append absolute paths.
 */
export function resolveBases(
  s: Pick<KlingSettings, 'kieApiBase' | 'kieUploadBase' | 'klingApiBase'>,
  env: NodeJS.ProcessEnv = process.env,
): ProviderBases {
  const pick = (setting: string, envValue: string | undefined, fallback: string) =>
    (setting.trim() || envValue?.trim() || fallback).replace(/\/+$/, '');
  return {
    kieApi: pick(s.kieApiBase, env.KIE_API_BASE, DEFAULT_BASES.kieApi),
    kieUpload: pick(s.kieUploadBase, env.KIE_UPLOAD_BASE, DEFAULT_BASES.kieUpload),
    klingApi: pick(s.klingApiBase, env.KLING_API_BASE, DEFAULT_BASES.klingApi),
  };
}

/** What the language server receives as initializationOptions and on configuration changes. */
export function serverSettings(s: KlingSettings): {
  defaultProvider: ProviderId;
  diagnostics: { severity: Record<string, SeverityName> };
  outputFolder: string;
  rates: Partial<RateTable>;
} {
  return {
    defaultProvider: s.defaultProvider,
    diagnostics: { severity: s.severity },
    outputFolder: s.outputFolder,
    rates: s.rates,
  };
}
