import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../platform/db/client.js';

export const deviceRoutes: FastifyPluginAsyncZod<{ db: Db }> = async () => {};
