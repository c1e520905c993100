import { connect, type Socket } from 'node:net';

/** A plain TCP connection to a local server, for what an HTTP client library would not send. */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far, as text. */
  received: () => string;
  /** Resolves when the connection closes, with how long it was open (ms). */
  closed: Promise<number>;
}

export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const opened = Date.now();
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<number>((done) =>
      socket.once('close', () => done(Date.now() - opened)),
    );
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}
