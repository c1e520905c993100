import { describe, expect, it } from 'vitest';
import { checkGoalName, GOAL_NAME_MAX_LENGTH } from '@goal-tracker/contract';

describe('checkGoalName', () => {
  it('when the name has surrounding spaces, then they are trimmed', () => {
    expect(checkGoalName('  Run a marathon  ')).toEqual({ name: 'Run a marathon' });
  });

  it('when the name is blank, then it is empty', () => {
    expect(checkGoalName(' \t ').problem).toBe('empty');
  });

  it('when the name is 256 characters, then it is too long, and 255 is fine', () => {
    expect(checkGoalName('a'.repeat(GOAL_NAME_MAX_LENGTH + 1)).problem).toBe('too-long');
    expect(checkGoalName('a'.repeat(GOAL_NAME_MAX_LENGTH)).problem).toBeUndefined();
  });

  it('when the name has 255 emoji, then it fits, as PostgreSQL counts characters', () => {
    expect(checkGoalName('🎯'.repeat(GOAL_NAME_MAX_LENGTH)).problem).toBeUndefined();
  });

  it('when the name has a control character inside, then it is refused', () => {
    expect(checkGoalName('a\u0000b').problem).toBe('control-characters');
    expect(checkGoalName('a\u007fb').problem).toBe('control-characters');
  });
});

describe('lone surrogates', () => {
  it('when a name holds half a character (a lone surrogate), then it is refused like a control character', () => {
    expect(checkGoalName('a\ud800').problem).toBe('control-characters');
    expect(checkGoalName('\udc00b').problem).toBe('control-characters');
  });

  it('when a name holds whole characters outside the basic plane, then it is fine', () => {
    expect(checkGoalName('🎯 and 𝄞').problem).toBeUndefined();
  });
});
