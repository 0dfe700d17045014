import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Resolves once no handler is running, or after `ms`. */
    handlersDrained(ms: number): Promise<void>;
  }
  interface FastifyRequest {
    inHandler: boolean;
  }
}

/**
 * Counts running handlers. Closing the HTTP server waits for open connections, but a client that
 * hung up leaves its handler running: shutdown waits for those too before closing the pool.
 * Registered after the idempotency plugin, so its onSend runs after that plugin's database write.
 */
export const inflightPlugin = fp(async (app: FastifyInstance) => {
  let running = 0;
  app.decorateRequest('inHandler', false);
  app.addHook('preHandler', async (req) => {
    req.inHandler = true;
    running++;
  });
  const done = async (req: { inHandler: boolean }) => {
    if (!req.inHandler) return;
    req.inHandler = false;
    running--;
  };
  app.addHook('onSend', async (req, _reply, payload) => {
    await done(req);
    return payload;
  });
  app.addHook('onResponse', done);
  app.decorate('handlersDrained', async (ms: number) => {
    const deadline = Date.now() + ms;
    while (running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  });
}, { name: 'platform-inflight', dependencies: ['platform-idempotency'] });
