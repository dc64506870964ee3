// The folder picker's view of this machine: one folder's sub-folders and CSV files (links to
// folders shown as folders), so a researcher picks a data set instead of typing its path. Names
// only: nothing is opened or read here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkstationError, type FolderListing } from '../../contract';

const MAX_ENTRIES = 2000;

export function browseFolder(input: string | undefined): FolderListing {
  const home = os.homedir();
  const dir = path.resolve(input ?? home);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', `There is no folder ${dir}.`, { cause: err });
  }
  // A CSV picked by path opens its folder with the file in it.
  const folder = st.isDirectory() ? dir : path.dirname(dir);
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(folder, { withFileTypes: true });
  } catch (err) {
    throw new WorkstationError('FORBIDDEN', `The folder ${folder} cannot be listed (permission denied).`, { cause: err });
  }
  const entries: FolderListing['entries'] = [];
  for (const e of dirents.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(folder, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    const link = e.isSymbolicLink();
    if (link) {
      try {
        const t = fs.statSync(full);
        isDir = t.isDirectory();
        isFile = t.isFile();
      } catch {
        continue; // a broken link leads nowhere
      }
    }
    if (isDir) entries.push({ name: e.name, path: full, kind: 'folder', link });
    else if (isFile && /\.csv$/i.test(e.name)) entries.push({ name: e.name, path: full, kind: 'csv', link });
  }
  // Folders first, then CSV files, each in name order.
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1));
  const parent = path.dirname(folder);
  return { path: folder, parent: parent === folder ? null : parent, home, entries: entries.slice(0, MAX_ENTRIES), truncated: entries.length > MAX_ENTRIES };
}
