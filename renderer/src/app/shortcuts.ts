// Every keyboard shortcut of the app in one table, and the browsers' own shortcuts it must never
// take: in the headless host's browser tab a page never sees Ctrl+Shift+R (hard reload) or Ctrl+T,
// so a shortcut there would silently do something else. A test checks the table against the list.

export interface Shortcut {
  /** As shown in tooltips and as matched: modifiers in the order Ctrl, Alt, Shift, then the key. */
  keys: string;
  scope: 'frame' | 'viewer' | 'report' | 'worklist' | 'sync';
  action: string;
}

/**
 * Shortcuts of Chrome/Chromium, Edge, Firefox and Safari (Windows, Linux; the Mac's Cmd ones map
 * to Ctrl here) that a page cannot rely on receiving. Function keys the browsers use are listed too.
 */
export const BROWSER_RESERVED: readonly string[] = [
  'Ctrl+R', 'Ctrl+Shift+R', 'F5', 'Ctrl+F5', 'Shift+F5',
  'Ctrl+T', 'Ctrl+Shift+T', 'Ctrl+N', 'Ctrl+Shift+N', 'Ctrl+W', 'Ctrl+Shift+W', 'Ctrl+Q', 'Ctrl+Shift+Q',
  'Ctrl+Tab', 'Ctrl+Shift+Tab', 'Ctrl+PageUp', 'Ctrl+PageDown',
  ...Array.from({ length: 9 }, (_, i) => `Ctrl+${i + 1}`),
  'Ctrl+L', 'Ctrl+K', 'Ctrl+E', 'Ctrl+D', 'Ctrl+Shift+D', 'Ctrl+H', 'Ctrl+J', 'Ctrl+Shift+J', 'Ctrl+Shift+I', 'Ctrl+Shift+C', 'Ctrl+Shift+K',
  'Ctrl+U', 'Ctrl+P', 'Ctrl+Shift+P', 'Ctrl+S', 'Ctrl+O', 'Ctrl+Shift+O', 'Ctrl+F', 'Ctrl+G', 'Ctrl+Shift+G', 'Ctrl+B', 'Ctrl+Shift+B',
  'Ctrl+Shift+A', 'Ctrl+Shift+M', 'Ctrl+Shift+Y', 'Ctrl+Shift+E', 'Ctrl+Shift+S', 'Ctrl+Shift+Delete', 'Ctrl+Shift+H',
  'Ctrl+Plus', 'Ctrl+Minus', 'Ctrl+0',
  'Alt+F', 'Alt+E', 'Alt+D', 'Alt+V', 'Alt+S', 'Alt+B', 'Alt+T', 'Alt+H', 'Alt+Home', 'Alt+Left', 'Alt+Right', 'Alt+F4', 'Alt+Enter',
  'Alt+Shift+I', 'Alt+Shift+T', 'Alt+Shift+A', 'Alt+Shift+B', 'Alt+Shift+S',
  'Shift+Escape', 'F1', 'F3', 'F6', 'F7', 'F10', 'F11', 'F12',
];

export const SHORTCUTS: readonly Shortcut[] = [
  // Known gap: on Linux, Chrome and Firefox switch tabs with Alt+1…9 (in the headless host's tab
  // these may not reach the page); the frame keeps them for now, as every page's tests use them.
  { keys: 'Alt+1…9', scope: 'frame', action: 'Switch to page 1 to 9 of the navigation' },
  // The viewer: bare keys while the viewer is on screen (a text field keeps its own keys).
  ...[
    ['ArrowUp', 'Previous slice'], ['ArrowDown', 'Next slice'], ['PageUp', 'Ten slices back'], ['PageDown', 'Ten slices on'], ['Home', 'First slice'], ['End', 'Last slice'],
    ['1', 'Preset 1'], ['2', 'Preset 2'], ['3', 'Preset 3'], ['4', 'Preset 4'],
    ['W', 'Window/level tool'], ['P', 'Pan tool'], ['Z', 'Zoom tool'], ['L', 'Length'], ['A', 'Ellipse area'], ['D', 'Freehand area'], ['G', 'Angle'], ['V', 'Probe'],
    ['F', 'Fit'], ['I', 'Invert'], ['R', 'Reset'], ['C', 'Cine'], ['S', 'Key image'], ['O', 'Overlay on/off'], ['[', 'Overlay opacity down'], [']', 'Overlay opacity up'], ['M', 'Overlay style'],
    ['K', 'Jump to the key slice'], ['Delete', 'Delete my last measurement on this image'], ['E', 'Open the report'], ['T', 'DICOM tags'], ['N', 'Link scrolling on/off'],
    ['Tab', 'Next viewport (when a viewport has focus)'], ['Shift+1', 'Layout 1x1'], ['Shift+2', 'Layout 1x2'], ['Shift+4', 'Layout 2x2'],
    ['Enter', 'Keyboard measurement: start, place a point'], ['Shift+Enter', 'Keyboard measurement: close a freehand outline'], ['Escape', 'Keyboard measurement: cancel'],
  ].map(([keys, action]) => ({ keys: keys!, scope: 'viewer' as const, action: action! })),
  { keys: 'Alt+Shift+Y', scope: 'report', action: 'Accept the AI finding' },
  { keys: 'Alt+Shift+N', scope: 'report', action: 'Reject the AI finding' },
  { keys: 'Alt+Shift+Enter', scope: 'report', action: 'Sign the report' },
  { keys: '/', scope: 'worklist', action: 'Search' },
  { keys: 'Alt+O', scope: 'worklist', action: 'Import files' },
  { keys: 'Alt+Shift+O', scope: 'worklist', action: 'Import a folder' },
  { keys: 'Alt+Shift+U', scope: 'sync', action: 'Sync with the hospital server now' },
];

/** The shortcut a key event is, in the table's notation ("Alt+Shift+Y", "Shift+2", "K"). */
export function keysOf(e: { key: string; code?: string; ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }): string {
  // Shift+digit types "!" or "@" on most layouts: name it by the physical key.
  let key = e.key.length === 1 ? e.key.toUpperCase() : e.key;
  if (e.code?.startsWith('Digit')) key = e.code.slice(5);
  else if (e.code?.startsWith('Key')) key = e.code.slice(3);
  const mods = [e.ctrlKey || e.metaKey ? 'Ctrl' : '', e.altKey ? 'Alt' : '', e.shiftKey && key.length > 1 ? 'Shift' : e.shiftKey && /[A-Z0-9]/.test(key) ? 'Shift' : ''].filter(Boolean);
  return [...mods, key === ' ' ? 'Space' : key].join('+');
}

/** The tooltip form of a shortcut: "Accept the AI finding (Alt+Shift+Y)". */
export function withKeys(text: string, scope: Shortcut['scope'], action: string): string {
  const s = SHORTCUTS.find((x) => x.scope === scope && x.action === action);
  return s ? `${text} (${s.keys})` : text;
}
