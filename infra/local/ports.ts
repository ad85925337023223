import { createServer } from 'node:net';

/** Where every local service listens (only the API may be moved, with --host): nothing is reachable from another machine. */
export const LOOPBACK = '127.0.0.1';

/** Asks the OS for a free TCP port on 127.0.0.1 (for child processes that need a port number up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}
