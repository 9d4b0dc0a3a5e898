// Standalone fake KIE + Kling server for browser e2e tests:
//   node --import tsx test/fake-server/main.ts --port N [--polls N]
// Prints its URL on the first line of stdout; faults can be scripted over HTTP (POST /__fake/faults).
import { startFakeServer } from './server';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const port = Number(arg('--port') ?? '0');
  const polls = arg('--polls');
  const server = await startFakeServer({
    port,
    pollsToFinish: polls ? Number(polls) : undefined,
    kieApiKey: process.env.FAKE_KIE_API_KEY,
    klingAccessKey: process.env.FAKE_KLING_ACCESS_KEY,
    klingSecretKey: process.env.FAKE_KLING_SECRET_KEY,
  });
  process.stdout.write(`${server.url}\n`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `fake server failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
