// Where the bundled demo study lives (made by build/demo/make-demo-study.ts, committed).
import path from 'node:path';
import { appRoot } from '../config';

export function defaultDemoFolder(): string {
  return path.join(appRoot(), 'build', 'demo', 'study');
}
