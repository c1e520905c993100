import type { AccountCreated, SessionCreated } from '@goal-tracker/contract';
import type { FastifyReply } from 'fastify';

/**
 * Answers a session just made (sign-up, sign-in, recovery, password change). `no-store`: its
 * token, and any recovery code with it, sign the account in, so no cache may keep them.
 */
export function sendNewSession(
  reply: FastifyReply,
  session: SessionCreated | AccountCreated,
): FastifyReply {
  return reply.code(201).header('cache-control', 'no-store').send(session);
}
