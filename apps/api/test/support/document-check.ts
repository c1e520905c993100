import { Ajv } from 'ajv';
import type { App } from '../../src/app.js';

interface Sent {
  method: string;
  /** The route's path as Fastify knows it (/goals/:id), or undefined for no route. */
  route: string | undefined;
  status: number;
  contentType: string | undefined;
  body: string;
}

type Responses = Record<string, { content?: Record<string, { schema: unknown }> }>;
type Paths = Record<string, Record<string, { responses: Responses }>>;

/** RFC 6901: how a key is written inside a JSON pointer. */
const pointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Records every response the app sends, so that a test file can check them all against the
 * app's own OpenAPI document at the end: each status must be documented for its operation,
 * with the media type sent, and each JSON body must match the documented schema. The
 * document then cannot drift from what the API does.
 */
export function recordResponses(app: App): { check(): Promise<string[]> } {
  const sent: Sent[] = [];
  app.addHook('onSend', (request, reply, payload, done) => {
    sent.push({
      method: request.method.toLowerCase(),
      route: request.routeOptions.url,
      status: reply.statusCode,
      contentType: reply.getHeader('content-type')?.toString().split(';')[0],
      body:
        typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '',
    });
    done(null, payload);
  });

  return {
    async check() {
      const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Paths;
      }>();
      const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: false });
      ajv.addSchema(document, 'openapi.json');
      const problems = new Set<string>();
      for (const response of sent) {
        // Undocumented on purpose: the document itself, the docs UI, metrics, and addresses
        // that match no route (404 problem documents).
        if (response.route === undefined || /^\/(openapi\.json|docs|metrics)/.test(response.route))
          continue;
        const path = response.route.replace(/:(\w+)/g, '{$1}');
        const operation = document.paths[path]?.[response.method];
        const where = `${response.method.toUpperCase()} ${path} ${response.status}`;
        if (!operation) {
          problems.add(`${where}: no such operation in the document`);
          continue;
        }
        const documented = operation.responses[String(response.status)];
        if (!documented) {
          problems.add(`${where}: status not documented`);
          continue;
        }
        if (!response.contentType || response.body === '') continue;
        const media = documented.content?.[response.contentType];
        if (!media) {
          problems.add(`${where}: ${response.contentType} not documented`);
          continue;
        }
        const validate = ajv.getSchema(
          `openapi.json#/paths/${pointer(path)}/${response.method}/responses/${response.status}/content/${pointer(response.contentType)}/schema`,
        );
        if (validate && !validate(JSON.parse(response.body))) {
          problems.add(`${where}: body does not match: ${ajv.errorsText(validate.errors)}`);
        }
      }
      return [...problems];
    },
  };
}
