// The "Kling Storyboard" log channel. Nothing we log should carry a key, but lines also come from
// the engine and from server error text, so every line is scrubbed of the current key values and
// of anything that looks like a bearer token before it is written.
import type * as vscode from 'vscode';

export class Log {
  private secrets: string[] = [];

  constructor(private readonly channel: vscode.LogOutputChannel) {}

  /** Replaces the values that must never be written (called whenever keys change). */
  setSecrets(values: (string | undefined)[]): void {
    this.secrets = values.filter((v): v is string => !!v && v.length >= 4);
  }

  info(line: string): void {
    this.channel.info(this.scrub(line));
  }

  warn(line: string): void {
    this.channel.warn(this.scrub(line));
  }

  error(line: string): void {
    this.channel.error(this.scrub(line));
  }

  show(): void {
    this.channel.show(true);
  }

  /** Removes key values and bearer tokens from a line. */
  scrub(line: string): string {
    let out = line;
    for (const s of this.secrets) out = out.split(s).join('<redacted>');
    return out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1<redacted>');
  }
}
