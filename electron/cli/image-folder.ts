// Walks a folder of images for `score` and `segment`: every file (hidden ones aside, links
// followed), its path relative to the folder, and the ground truth its class-named parent folder gives.
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../contract';
import { walkFiles } from '../services/research';

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
  // Symbolic links are followed (a data set assembled from linked class folders), with a loop guard.
  // A cluster run may score millions of files: the cap only stops a mistyped root.
  return walkFiles(root, { maxFiles: 20_000_000 }).map((w) => {
    let truth: string | null = null;
    for (const name of w.parts.slice(0, -1)) truth = classOfFolder(name) ?? truth;
    return { file: w.file, rel: w.parts.join('/'), truth };
  });
}
