import { Type } from '@sinclair/typebox';
import { describe, expect, test } from 'vitest';
import { availableParallelism } from 'node:os';
import {
  ConfigError,
  list,
  LogLevelSetting,
  readEnvironment,
  serverSettings,
} from '../src/index.js';

const Schema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 3000 }),
  LOG_LEVEL: LogLevelSetting,
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres://' })),
});

describe('readEnvironment', () => {
  test('when nothing is set, then the defaults apply and strings become numbers', () => {
    expect(readEnvironment(Schema, {})).toEqual({ PORT: 3000, LOG_LEVEL: 'info' });
    expect(readEnvironment(Schema, { PORT: '8080' }).PORT).toBe(8080);
  });

  test('when a variable is empty, then it counts as unset', () => {
    expect(readEnvironment(Schema, { PORT: '', LOG_LEVEL: '' })).toEqual({
      PORT: 3000,
      LOG_LEVEL: 'info',
    });
  });

  test('when a variable is bad, then a ConfigError names it and the value', () => {
    expect(() => readEnvironment(Schema, { PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => readEnvironment(Schema, { PORT: 'eighty' })).toThrow(/^PORT: .*\(got "eighty"\)/);
  });

  test('when a choice is bad, then the error lists the choices', () => {
    expect(() => readEnvironment(Schema, { LOG_LEVEL: 'loud' })).toThrow(
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    );
  });

  test('when a secret variable is bad, then its value is not echoed', () => {
    const read = () =>
      readEnvironment(
        Schema,
        { DATABASE_URL: 'mysql://u:hunter2@h/d' },
        { secret: ['DATABASE_URL'] },
      );
    expect(read).toThrow('DATABASE_URL');
    expect(read).not.toThrow(/hunter2/);
  });

  test('when a list has blanks, then they are dropped', () => {
    expect(list(' a, ,b ,')).toEqual(['a', 'b']);
  });

  test('when WORKERS is unset, then one process per vCPU; 1 to 64 are taken, and nothing else', () => {
    const Server = Type.Object(serverSettings(3000));
    expect(readEnvironment(Server, {}).WORKERS).toBe(availableParallelism());
    expect(readEnvironment(Server, { WORKERS: '1' }).WORKERS).toBe(1);
    expect(readEnvironment(Server, { WORKERS: '64' }).WORKERS).toBe(64);
    for (const bad of ['0', '65', 'two']) {
      expect(() => readEnvironment(Server, { WORKERS: bad })).toThrow(/^WORKERS: /);
    }
  });
});
