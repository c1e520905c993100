import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../local-stack/log-lines.js';

const line = (entry: object) => JSON.stringify(entry);

describe('formatLogLine', () => {
  it('when the API applies a migration, then the line names it', () => {
    expect(
      formatLogLine(line({ level: 30, msg: 'migration applied', version: 3, name: 'sessions' })),
    ).toBe('info  migration applied 003_sessions');
  });

  it('when a line carries an error, then its message follows', () => {
    expect(formatLogLine(line({ level: 50, msg: 'failed', err: { message: 'boom' } }))).toBe(
      'error failed: boom',
    );
  });

  it('when a line is a request log, then it is left out; when it is not JSON, then it is kept', () => {
    expect(formatLogLine(line({ level: 30, msg: 'request completed' }))).toBeUndefined();
    expect(formatLogLine('plain text')).toBe('plain text');
  });
});
