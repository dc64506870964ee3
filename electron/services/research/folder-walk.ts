// Walks a folder tree for data sets and `tumorpredict score`: regular files in name order, hidden
// entries skipped, symbolic links followed (to files and to folders) with a guard against loops.
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract/errors';

export interface WalkedFile {
  /** Absolute path as reached through the tree (links not resolved), so item ids stay readable. */
  file: string;
  /** Folder names from the root down to the file's folder, then the file name. */
  parts: string[];
}

export interface WalkOptions {
  /** Refuse trees with more files than this (a typo like "/" must not list the disk). */
  maxFiles?: number;
  /** Sub-folders deeper than this are not entered (a guard beside the loop check). */
  maxDepth?: number;
}

export const DEFAULT_MAX_FILES = 200_000;

/**
 * Every file under `root`. A link to a folder is entered unless that folder (by its real path) is
 * the root or one of the folders above the link: such a link is a loop and is skipped. A link to a
 * file is listed like a file; a broken link is listed too, so that its reader says what is wrong
 * with it instead of the file silently vanishing.
 */
export function walkFiles(root: string, opts: WalkOptions = {}): WalkedFile[] {
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES;
  const maxDepth = opts.maxDepth ?? 64;
  const out: WalkedFile[] = [];
  const rec = (dir: string, parts: string[], ancestors: Set<string>): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // an unreadable sub-folder is skipped like an unreadable file
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = fs.statSync(full); // follows the link
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          isFile = true; // broken link: listed, and its reader reports it as missing
        }
      }
      if (isDir) {
        if (parts.length + 1 > maxDepth) continue;
        let real: string;
        try {
          real = fs.realpathSync(full);
        } catch {
          continue;
        }
        if (ancestors.has(real)) continue; // a link back to a folder above: a loop
        const next = new Set(ancestors);
        next.add(real);
        rec(full, [...parts, e.name], next);
      } else if (isFile) {
        out.push({ file: full, parts: [...parts, e.name] });
        if (out.length > maxFiles) throw new WorkstationError('INVALID_INPUT', `The folder holds more than ${maxFiles} files; choose a smaller folder.`);
      }
    }
  };
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    return out;
  }
  rec(root, [], new Set([realRoot]));
  return out;
}
