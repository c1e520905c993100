import { describe, expect, it } from 'vitest';
import { checkGoalName, GOAL_NAME_MAX_LENGTH, isCalendarDate } from '@goal-tracker/contract';

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

describe('names with no visible character', () => {
  it.each([
    ['a zero-width space', '\u200b'],
    ['zero-width joiners and direction marks', '\u200c\u200d\u200e\u200f'],
    ['a word joiner and a byte order mark', '\u2060\ufeff'],
    ['a zero-width space between no-break and ideographic spaces', '\u00a0\u200b\u3000'],
    ['a Hangul filler', '\u3164'],
    ['combining marks alone', '\u0301\u0308'],
    ['a variation selector', '\ufe0f'],
    ['a blank braille pattern', '\u2800'],
  ])('when a name is only %s, then it is invisible', (_, name) => {
    expect(checkGoalName(name).problem).toBe('invisible');
  });

  it.each([
    ['a letter among zero-width spaces', '\u200ba\u200b'],
    ['a letter with a combining accent', 'e\u0301'],
    ['an emoji sequence with a joiner', '👩\u200d💻'],
    ['a digit', '7'],
  ])('when a name is %s, then it is fine', (_, name) => {
    expect(checkGoalName(name).problem).toBeUndefined();
  });
});

describe('isCalendarDate', () => {
  it('when the day exists, then true; when it does not or is not YYYY-MM-DD, then false', () => {
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-12-31')).toBe(true);
    for (const text of ['2026-02-30', '2027-02-29', '2026-13-01', '2026-00-10', '2026-1-1', '']) {
      expect(isCalendarDate(text), text).toBe(false);
    }
  });
});
