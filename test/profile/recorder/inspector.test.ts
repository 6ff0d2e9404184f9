/**
 * CPU samples through the in-process inspector: the profile is handed over without ever stopping
 * V8's profiler (a cold start logs every compiled function, a long main-thread pause).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recorderConfigFromEnv } from '../../../src/profile/recorder/config.js';
import type { CpuProfile, ToWriter } from '../../../src/profile/recorder/protocol.js';
import { Profilers } from '../../../src/profile/recorder/sources/inspector.js';

type Profile = CpuProfile & { readonly endTime: number };

function burn(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
}

describe('CPU profile hand-over', () => {
  it('starts the next profile before stopping the previous one: consecutive profiles overlap, all have samples', () => {
    const { config } = recorderConfigFromEnv({ DIAL9_CPU_PROFILE_ENABLED: 'true', DIAL9_CPU_SAMPLE_HZ: '999' });
    const profiles: Profile[] = [];
    const errors: string[] = [];
    const profilers = new Profilers(
      config,
      (message: ToWriter) => {
        if (message.op === 'cpu-profile') profiles.push(message.profile as Profile);
      },
      (message) => errors.push(message),
    );
    profilers.start();
    for (let i = 0; i < 4; i++) {
      burn(80);
      profilers.handOverCpu();
    }
    burn(80);
    profilers.stop();
    assert.deepEqual(errors, []);
    assert.equal(profiles.length, 5, 'four hand-overs and the last profile at stop');
    for (const [i, profile] of profiles.entries()) {
      assert.ok((profile.samples?.length ?? 0) >= 5, `profile ${i}: ${profile.samples?.length} samples`);
      const next = profiles[i + 1];
      // V8's clock (µs): the next profile was already running when this one stopped.
      if (next !== undefined)
        assert.ok(
          next.startTime <= profile.endTime,
          `profile ${i + 1} starts ${next.startTime - profile.endTime} µs late`,
        );
    }
  });
});
