// The app's shortcut table against the browsers' own shortcuts: none may be one a browser keeps
// (Ctrl+Shift+R, the report editor's old reject, is the hard reload), and none may be taken twice
// where both are live at once. keysOf names events the way the table writes them.
import { describe, expect, it } from 'vitest';
import { BROWSER_RESERVED, SHORTCUTS, keysOf } from './shortcuts';

describe('keyboard shortcuts', () => {
  it('takes none of the shortcuts the browsers keep for themselves', () => {
    const reserved = new Set(BROWSER_RESERVED);
    expect(SHORTCUTS.filter((s) => reserved.has(s.keys))).toEqual([]);
    expect(reserved.has('Ctrl+Shift+R')).toBe(true);
    // The report editor's actions are in the table (the editor reads its keys from it).
    expect(SHORTCUTS.filter((s) => s.scope === 'report').map((s) => s.action).sort()).toEqual(['Accept the AI finding', 'Reject the AI finding', 'Sign the report']);
  });

  it('gives every key one action per screen (the frame\'s keys are live on every screen)', () => {
    for (const scope of ['viewer', 'report', 'worklist', 'sync'] as const) {
      const keys = SHORTCUTS.filter((s) => s.scope === scope || s.scope === 'frame').map((s) => s.keys);
      expect(keys.filter((k, i) => keys.indexOf(k) !== i), scope).toEqual([]);
    }
  });

  it('names key events as the table writes them, by physical key', () => {
    const ev = (key: string, code: string, mods: Partial<{ ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }> = {}) => ({ key, code, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...mods });
    expect(keysOf(ev('k', 'KeyK'))).toBe('K');
    expect(keysOf(ev('Y', 'KeyY', { altKey: true, shiftKey: true }))).toBe('Alt+Shift+Y');
    expect(keysOf(ev('@', 'Digit2', { shiftKey: true }))).toBe('Shift+2');
    expect(keysOf(ev('Enter', 'Enter', { altKey: true, shiftKey: true }))).toBe('Alt+Shift+Enter');
    expect(keysOf(ev('ø', 'KeyO', { altKey: true }))).toBe('Alt+O');
    expect(keysOf(ev('[', 'BracketLeft'))).toBe('[');
    expect(keysOf(ev('R', 'KeyR', { ctrlKey: true, shiftKey: true }))).toBe('Ctrl+Shift+R');
  });
});
