// Shard boundaries on whole batches (so a task's batches are the local run's batches), the
// sbatch array list, and parsing what squeue and scontrol print.
import { describe, expect, it } from 'vitest';
import { arraySpec, parseScontrol, parseSqueue } from './client';
import { effectiveShards, parseShard, shardBounds } from './shards';

describe('shards', () => {
  it('cut n items into shards of whole batches that cover every item once', () => {
    for (const [n, want, batch] of [[165, 3, 4], [10, 7, 4], [1, 5, 8], [800, 16, 8], [17, 1, 8]] as const) {
      const k = effectiveShards(n, want, batch);
      expect(k).toBeLessThanOrEqual(want);
      expect(k).toBeGreaterThan(0);
      const seen: number[] = [];
      for (let s = 0; s < k; s++) {
        const [lo, hi] = shardBounds(n, k, s, batch);
        expect(lo % batch).toBe(0);
        expect(hi).toBeGreaterThan(lo);
        for (let i = lo; i < hi; i++) seen.push(i);
      }
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(effectiveShards(10, 7, 4)).toBe(3); // 3 batches: at most 3 shards
  });

  it('parses --shard and refuses nonsense', () => {
    expect(parseShard('2/5')).toEqual({ k: 2, n: 5 });
    for (const bad of ['5/5', '-1/3', '1', 'a/b', '0/0']) expect(() => parseShard(bad)).toThrow(/--shard must be K\/N/);
  });

  it('writes sbatch array lists and reads squeue and scontrol lines', () => {
    expect(arraySpec([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8');
    expect(arraySpec([3])).toBe('3');
    expect(parseSqueue('12|0|RUNNING|None\n12|2|PENDING|Resources\n13|N/A|RUNNING|None\n')).toEqual([
      { arrayJobId: '12', taskId: 0, state: 'RUNNING', reason: 'None' },
      { arrayJobId: '12', taskId: 2, state: 'PENDING', reason: 'Resources' },
    ]);
    const line = 'JobId=14 ArrayJobId=12 ArrayTaskId=1 JobName=tumorpredict-score UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=0:9 RunTime=00:00:02';
    expect(parseScontrol(`${line}\nJobId=15 ArrayJobId=12 ArrayTaskId=2-5 JobState=PENDING\n`)).toEqual([{ arrayJobId: '12', taskId: 1, state: 'FAILED', exitCode: '0:9', reason: 'NonZeroExitCode' }]);
  });
});
