import { request as httpRequest, type IncomingMessage } from 'node:http';

/** One Server-Sent Event as a client received it. */
export interface ReceivedEvent<T> {
  id: string | undefined;
  event: string;
  data: T;
}

/** A GET of an event stream, read as it comes. */
export interface EventStream<T> {
  status: number;
  headers: IncomingMessage['headers'];
  events: ReceivedEvent<T>[];
  /** Every chunk as it came, comments included. */
  raw: string;
  ended: boolean;
  close(): void;
}

/**
 * Opens `url` (http only) as an EventSource would, parsing each event's JSON data as it
 * arrives. Refusals are read the same way: `raw` holds their body.
 */
export async function openEventStream<T = unknown>(
  url: string,
  headers: Record<string, string> = {},
): Promise<EventStream<T>> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } });
    request.once('response', resolve).once('error', reject).end();
  });
  const stream: EventStream<T> = {
    status: response.statusCode ?? 0,
    headers: response.headers,
    events: [],
    raw: '',
    ended: false,
    close: () => response.destroy(),
  };
  let buffer = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    stream.raw += chunk;
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const colon = line.indexOf(': ');
        if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 2));
      }
      const data = fields.get('data');
      if (data !== undefined) {
        stream.events.push({
          id: fields.get('id'),
          event: fields.get('event') ?? 'message',
          data: JSON.parse(data) as T,
        });
      }
    }
  });
  response.once('end', () => (stream.ended = true));
  response.once('close', () => (stream.ended = true));
  return stream;
}

/** Waits for `condition` to hold, checking every 10 ms; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
