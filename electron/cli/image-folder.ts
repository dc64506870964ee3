// Walks a folder of images for `score` and `segment`: every regular file (hidden ones aside),
// its path relative to the folder, and the ground truth its class-named parent folder gives.
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../contract';

export const TRUTH_CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'] as const;

export interface FolderEntry {
  /** Absolute path. */
  file: string;
  /** Relative to the scored folder, with forward slashes. */
  rel: string;
  /** Class from the nearest class-named folder above the file (within DIR), or null. */
  truth: string | null;
}

/** "Glioma", "glioma_tumor", "no_tumor", "No Tumor" -> the class name, or null. */
export function classOfFolder(name: string): string | null {
  const n = name.toLowerCase().replace(/[^a-z]/g, '');
  if ((TRUTH_CLASSES as readonly string[]).includes(n)) return n;
  if (n === 'notumour') return 'notumor';
  const stripped = n.replace(/tumou?r$/, '');
  if (stripped === 'no') return 'notumor';
  if ((TRUTH_CLASSES as readonly string[]).includes(stripped)) return stripped;
  return null;
}

export function listImageFolder(dir: string): FolderEntry[] {
  const root = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', `The folder ${dir} does not exist.`, { cause: err });
  }
  if (!st.isDirectory()) throw new WorkstationError('INVALID_INPUT', `${dir} is not a folder.`);
  const out: FolderEntry[] = [];
  const walk = (abs: string, relParts: string[], truth: string | null): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      return; // an unreadable sub-folder is skipped like an unreadable file
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(abs, e.name);
      if (e.isDirectory()) walk(full, [...relParts, e.name], classOfFolder(e.name) ?? truth);
      else if (e.isFile() || e.isSymbolicLink()) out.push({ file: full, rel: [...relParts, e.name].join('/'), truth });
    }
  };
  walk(root, [], null);
  return out;
}
