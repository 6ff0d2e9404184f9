import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRecording, recorderConfigFromEnv } from '../../../src/profile/recorder/config.js';

const MB = 1024 * 1024;

describe('DIAL9_* config', () => {
  it('is off with nothing set, with dial9 defaults', () => {
    const { config, warnings } = recorderConfigFromEnv({});
    assert.deepEqual(warnings, []);
    assert.equal(config.enabled, false);
    assert.equal(config.rotationSecs, 60);
    assert.equal(config.maxDiskUsageBytes, 1024 * MB);
    assert.equal(config.maxFileSizeBytes, 100 * MB);
    assert.equal(config.cpuSampleHz, 99);
    assert.equal(config.memorySampleRateBytes, 524_288);
    assert.equal(config.resourceUsage, true);
    assert.equal(config.triggerLoopDelayMs, undefined);
  });

  it('accepts every boolean spelling dial9 does', () => {
    for (const yes of ['true', '1', 'yes', 'on', 'TRUE', ' On ']) {
      assert.equal(recorderConfigFromEnv({ DIAL9_ENABLED: yes }).config.enabled, true, yes);
    }
    for (const no of ['false', '0', 'no', 'off']) {
      assert.equal(recorderConfigFromEnv({ DIAL9_ENABLED: no }).config.enabled, false, no);
    }
  });

  it('warns once per bad value, naming variable, value and what is allowed, and treats it as unset', () => {
    const { config, warnings } = recorderConfigFromEnv({
      DIAL9_ENABLED: 'maybe',
      DIAL9_ROTATION_SECS: '-5',
      DIAL9_CPU_SAMPLE_HZ: '99.5',
      DIAL9_MAX_DISK_USAGE_MB: 'lots',
      DIAL9_TARGETS: 'service=loud',
      DIAL9_TRIGGER_LOOP_DELAY_MS: '0',
    });
    assert.equal(warnings.length, 6);
    assert.match(
      warnings[0] ?? '',
      /^DIAL9_ENABLED="maybe" is not valid \(allowed: true\/false\/1\/0\/yes\/no\/on\/off\)/,
    );
    assert.match(warnings.join('\n'), /DIAL9_ROTATION_SECS="-5" is not valid \(allowed: a number from 0.1 to/);
    assert.match(
      warnings.join('\n'),
      /DIAL9_CPU_SAMPLE_HZ="99.5" is not valid \(allowed: an integer from 1 to 10000\)/,
    );
    assert.match(warnings.join('\n'), /DIAL9_TARGETS="service=loud" is not valid/);
    assert.equal(config.enabled, false);
    assert.equal(config.rotationSecs, 60);
    assert.equal(config.cpuSampleHz, 99);
    assert.equal(config.maxDiskUsageBytes, 1024 * MB);
    assert.equal(config.triggerLoopDelayMs, undefined);
    assert.equal(config.targets.source, 'error,service=trace,app=trace,undici=info,http=info');
  });

  it('warns about DIAL9_* names it does not know, with the nearest known one, and ignores them', () => {
    const { config, warnings } = recorderConfigFromEnv({
      DIAL9_ENABLE: 'true',
      DIAL9_CPU_PROFILE: 'true',
      DIAL9_FROBNICATE: '1',
      DIAL9_EMPTY: '',
      PATH: '/usr/bin',
    });
    assert.equal(config.enabled, false);
    assert.equal(config.cpuProfile, false);
    assert.deepEqual(warnings, [
      'DIAL9_CPU_PROFILE is not a flight recorder variable (did you mean DIAL9_CPU_PROFILE_ENABLED?); ignored (every variable: docs/profiling.md)',
      'DIAL9_ENABLE is not a flight recorder variable (did you mean DIAL9_ENABLED?); ignored (every variable: docs/profiling.md)',
      'DIAL9_FROBNICATE is not a flight recorder variable; ignored (every variable: docs/profiling.md)',
    ]);
  });

  it('warns when settings are given without DIAL9_ENABLED, not when it is false', () => {
    const settings = { DIAL9_TRACE_DIR: '/tmp/t', DIAL9_CPU_PROFILE_ENABLED: 'true' };
    assert.deepEqual(recorderConfigFromEnv(settings).warnings, [
      'DIAL9_CPU_PROFILE_ENABLED, DIAL9_TRACE_DIR are set but DIAL9_ENABLED is not: the flight recorder is off (set DIAL9_ENABLED=true to record)',
    ]);
    assert.deepEqual(recorderConfigFromEnv({ ...settings, DIAL9_ENABLED: 'false' }).warnings, []);
    assert.deepEqual(recorderConfigFromEnv({ ...settings, DIAL9_ENABLED: 'true' }).warnings, []);
  });

  it('caps the file size at a quarter of a small budget', () => {
    const { config } = recorderConfigFromEnv({ DIAL9_MAX_DISK_USAGE_MB: '2' });
    assert.equal(config.maxFileSizeBytes, 0.5 * MB);
  });

  it('says what is recorded, where, and what is off and why', () => {
    const { config } = recorderConfigFromEnv({
      DIAL9_ENABLED: 'true',
      DIAL9_CPU_PROFILE_ENABLED: 'true',
      DIAL9_SCHEDULE_PROFILE_ENABLED: 'true',
      DIAL9_S3_BUCKET: 'b',
    });
    const summary = describeRecording(config, '/traces/p');
    assert.ok(summary.on.includes('CPU samples at 99 Hz'));
    assert.match(summary.summary, /writing to \/traces\/p/);
    assert.match(summary.off.heapSamples ?? '', /DIAL9_MEMORY_PROFILE_ENABLED/);
    assert.match(summary.off.DIAL9_SCHEDULE_PROFILE_ENABLED ?? '', /no kernel off-CPU stacks/);
    assert.match(summary.off.DIAL9_S3_BUCKET ?? '', /onSegmentSealed/);
    assert.equal(summary.off.cpuSamples, undefined);
  });
});

describe('DIAL9_* park/unpark settings', () => {
  it('records idle periods of 1 ms and more by default, from the built addon', () => {
    const { config, warnings } = recorderConfigFromEnv({ DIAL9_ENABLED: 'true' });
    assert.deepEqual(warnings, []);
    assert.equal(config.parkEnabled, true);
    assert.equal(config.idleThresholdMs, 1);
    assert.equal(config.parkAddonPath, undefined);
    const summary = describeRecording(config, '/traces/p');
    assert.ok(summary.on.includes('park/unpark (idle periods of 1 ms and more)'), summary.summary);
    assert.equal(summary.off['park/unpark'], undefined);
  });

  it('reads the threshold, the switch and the addon path; a bad threshold warns and counts as unset', () => {
    const set = recorderConfigFromEnv({ DIAL9_IDLE_THRESHOLD_MS: '5', DIAL9_PARK_ADDON: '/opt/loop_park.node' });
    assert.equal(set.config.idleThresholdMs, 5);
    assert.equal(set.config.parkAddonPath, '/opt/loop_park.node');
    const bad = recorderConfigFromEnv({
      DIAL9_ENABLED: 'true',
      DIAL9_IDLE_THRESHOLD_MS: '0.001',
      DIAL9_PARK_ENABLED: 'perhaps',
    });
    assert.equal(bad.warnings.length, 2);
    assert.match(
      bad.warnings.join('\n'),
      /DIAL9_IDLE_THRESHOLD_MS="0.001" is not valid \(allowed: a number from 0.05 to 60000\)/,
    );
    assert.match(bad.warnings.join('\n'), /DIAL9_PARK_ENABLED="perhaps" is not valid/);
    assert.equal(bad.config.idleThresholdMs, 1);
    assert.equal(bad.config.parkEnabled, true);
  });

  it('says why park/unpark is off: switched off, or the addon did not load', () => {
    const { config } = recorderConfigFromEnv({ DIAL9_PARK_ENABLED: 'false' });
    const off = describeRecording(config, '/traces/p');
    assert.equal(off.off['park/unpark'], 'DIAL9_PARK_ENABLED=false');
    assert.ok(!off.on.some((what) => what.startsWith('park/unpark')));
    const missing = describeRecording(recorderConfigFromEnv({}).config, '/traces/p', 'native addon not built: no x');
    assert.match(missing.summary, /off: .*park\/unpark \(native addon not built: no x\)/);
  });
});

describe('DIAL9_REQUEST_EVENTS_PER_SEC', () => {
  it('writes every request by default; a rate counts the fast ones past it, and the start-up line says which', () => {
    const byDefault = recorderConfigFromEnv({ DIAL9_ENABLED: 'true' });
    assert.equal(byDefault.config.requestEventsPerSec, 0);
    assert.ok(describeRecording(byDefault.config, '/traces/p').on.includes('HTTP in and out (every request served)'));
    const rated = recorderConfigFromEnv({ DIAL9_ENABLED: 'true', DIAL9_REQUEST_EVENTS_PER_SEC: '1000' });
    assert.deepEqual(rated.warnings, []);
    assert.equal(rated.config.requestEventsPerSec, 1000);
    assert.match(
      describeRecording(rated.config, '/traces/p').summary,
      /HTTP in and out \(requests served: past 1000\/s, the fast and successful ones counted, not written one by one\)/,
    );
  });

  it('warns about a value that is not a whole number of requests and keeps the default', () => {
    for (const value of ['-5', '2.5', 'lots']) {
      const bad = recorderConfigFromEnv({ DIAL9_ENABLED: 'true', DIAL9_REQUEST_EVENTS_PER_SEC: value });
      assert.deepEqual(bad.warnings, [
        `DIAL9_REQUEST_EVENTS_PER_SEC=${JSON.stringify(value)} is not valid (allowed: an integer from 0 to 1000000000); treated as unset`,
      ]);
      assert.equal(bad.config.requestEventsPerSec, 0);
    }
  });
});
