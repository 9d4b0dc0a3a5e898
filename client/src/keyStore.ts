// API keys live in VS Code's SecretStorage only (never in settings); the environment variables the
// CLI reads are the fallback, so a shell with KIE_API_KEY set works without any setup.
import type * as vscode from 'vscode';
import type { ProviderKeys } from '../../server/src/render/types';

const SECRET_IDS = {
  kieApiKey: 'kling.kieApiKey',
  klingAccessKey: 'kling.klingAccessKey',
  klingSecretKey: 'kling.klingSecretKey',
} as const satisfies Record<keyof ProviderKeys, string>;

export type KeyName = keyof typeof SECRET_IDS;

/** Where a key came from, for messages that must never show the key itself. */
export type KeySource = 'secret-storage' | 'environment' | 'missing';

export class KeyStore {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The keys to hand to the engine: stored secrets first, then KIE_API_KEY / KLING_ACCESS_KEY / KLING_SECRET_KEY. */
  async keys(): Promise<ProviderKeys> {
    const [kie, access, secret] = await Promise.all([
      this.secrets.get(SECRET_IDS.kieApiKey),
      this.secrets.get(SECRET_IDS.klingAccessKey),
      this.secrets.get(SECRET_IDS.klingSecretKey),
    ]);
    return {
      kieApiKey: nonEmpty(kie) ?? nonEmpty(this.env.KIE_API_KEY),
      klingAccessKey: nonEmpty(access) ?? nonEmpty(this.env.KLING_ACCESS_KEY),
      klingSecretKey: nonEmpty(secret) ?? nonEmpty(this.env.KLING_SECRET_KEY),
    };
  }

  /** Stores one key; an empty value deletes it. */
  async set(name: KeyName, value: string): Promise<void> {
    const trimmed = value.trim();
    if (trimmed) await this.secrets.store(SECRET_IDS[name], trimmed);
    else await this.secrets.delete(SECRET_IDS[name]);
  }

  /** Reports where a key would come from, without revealing it. */
  async source(name: KeyName): Promise<KeySource> {
    if (nonEmpty(await this.secrets.get(SECRET_IDS[name]))) return 'secret-storage';
    const envName = {
      kieApiKey: 'KIE_API_KEY',
      klingAccessKey: 'KLING_ACCESS_KEY',
      klingSecretKey: 'KLING_SECRET_KEY',
    }[name];
    return nonEmpty(this.env[envName]) ? 'environment' : 'missing';
  }

  /** Fires when any Kling key changes in SecretStorage (also from another window). */
  onDidChange(listener: () => void): vscode.Disposable {
    const ids = new Set<string>(Object.values(SECRET_IDS));
    return this.secrets.onDidChange((e) => {
      if (ids.has(e.key)) listener();
    });
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v && v.trim() ? v.trim() : undefined;
}
