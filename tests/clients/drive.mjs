// Drives the real Node Seq clients (seq-logging, pino-seq, @datalust/winston-seq)
// against a running seqr, then flushes and exits.
//
// Usage: node drive.mjs <serverUrl> <runId> [client ...]
//   clients: seq-logging pino-seq winston-seq (default: all three)
//
// Each client sends three events tagged RunTag=<runId>-<client>:
//   Information "Hello {User} from {Client}"  User=alice Client=<client> N=42
//   Warning     "Disk {Pct}% full"             Pct=93.5
//   Error       "Operation {Op} failed"        Op=save, exception "Error: Kaboom in <client>"
// Exits non-zero if a client reports a shipping error. Called by run.sh;
// check.py knows the expectations.

import { Logger } from 'seq-logging';
import pino from 'pino';
import { createStream } from 'pino-seq';
import winston from 'winston';
import { SeqTransport } from '@datalust/winston-seq';

const [serverUrl, runId, ...requested] = process.argv.slice(2);
if (!serverUrl || !runId) {
  console.error('usage: node drive.mjs <serverUrl> <runId> [client ...]');
  process.exit(2);
}

const errors = [];
const onError = (client) => (e) => {
  errors.push(`${client}: ${e && e.message ? e.message : e}`);
};

function boom(client) {
  try {
    throw new Error(`Kaboom in ${client}`);
  } catch (e) {
    return e;
  }
}

const clients = {
  // The official client. No apiKey: it then sends the literal header
  // `X-Seq-ApiKey: null`, which the server must treat as "no key".
  async 'seq-logging'() {
    const client = 'seq-logging';
    const runTag = `${runId}-${client}`;
    const logger = new Logger({ serverUrl, onError: onError(client) });
    const now = new Date();
    logger.emit({
      timestamp: now,
      level: 'Information',
      messageTemplate: 'Hello {User} from {Client}',
      properties: { User: 'alice', Client: client, RunTag: runTag, N: 42, Nested: { A: [1, 2, 3], B: null } },
    });
    logger.emit({
      timestamp: now,
      level: 'Warning',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      messageTemplate: 'Disk {Pct}% full',
      properties: { Pct: 93.5, RunTag: runTag },
    });
    logger.emit({
      timestamp: now,
      level: 'Error',
      messageTemplate: 'Operation {Op} failed',
      exception: boom(client).stack,
      properties: { Op: 'save', RunTag: runTag },
    });
    await logger.close();
  },

  // pino -> pino-seq stream -> seq-logging; an API key is set (unknown keys
  // are accepted unless the server requires keys).
  async 'pino-seq'() {
    const client = 'pino-seq';
    const runTag = `${runId}-${client}`;
    const stream = createStream({
      serverUrl,
      apiKey: 'seqr-client-test',
      onError: onError(client),
      additionalProperties: { RunTag: runTag },
    });
    const log = pino({ name: 'pino-driver' }, stream);
    log.info({ User: 'alice', Client: client, N: 42 }, 'Hello {User} from {Client}');
    log.warn(
      { Pct: 93.5, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
      'Disk {Pct}% full',
    );
    log.error({ err: boom(client), Op: 'save' }, 'Operation {Op} failed');
    await new Promise((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
      stream.end();
    });
  },

  // winston -> @datalust/winston-seq transport -> seq-logging. Levels go out
  // as winston's own names (info/warn/error).
  async 'winston-seq'() {
    const client = 'winston-seq';
    const runTag = `${runId}-${client}`;
    const transport = new SeqTransport({
      serverUrl,
      apiKey: 'seqr-client-test',
      onError: onError(client),
      handleExceptions: false,
    });
    const logger = winston.createLogger({
      level: 'info',
      defaultMeta: { RunTag: runTag, Application: 'winston-driver' },
      transports: [transport],
    });
    logger.info('Hello {User} from {Client}', { User: 'alice', Client: client, N: 42 });
    logger.warn('Disk {Pct}% full', { Pct: 93.5 });
    logger.error('Operation {Op} failed', { Op: 'save', exception: boom(client).stack });
    // winston hands entries to the transport asynchronously (setImmediate).
    await new Promise((resolve) => setTimeout(resolve, 50));
    await transport.flush();
    await transport.logger.close();
  },
};

const names = requested.length ? requested : Object.keys(clients);
for (const name of names) {
  if (!clients[name]) {
    console.error(`[drive.mjs] unknown client: ${name}`);
    process.exit(2);
  }
  await clients[name]();
  console.log(`[drive.mjs] sent ${name} ${runId}-${name}`);
}

if (errors.length) {
  for (const e of errors) console.error(`[drive.mjs] shipping error: ${e}`);
  process.exit(1);
}
process.exit(0);
