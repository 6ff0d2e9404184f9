import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadRunConfig } from '../src/config/run.js';
import { InvalidOptionError } from '../src/errors.js';

describe('run configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('defaults match the Rust template', () => {
    const config = loadRunConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 3000);
    assert.equal(config.logFilter.source, 'info,service=debug');
    assert.equal(config.serviceName, 'service');
    assert.equal(config.telemetryDir, undefined);
    assert.equal(config.downstreamUrl, undefined);
    assert.equal(config.metricsFormat, 'json');
    assert.equal(config.requestTimeoutMs, 16000);
    assert.equal(config.bodyTimeoutMs, 10000);
    assert.equal(config.bodyLimitBytes, 1048576);
    assert.equal(config.downstreamTimeoutMs, 5000);
    assert.equal(config.drainTimeoutMs, 30000);
    assert.equal(config.runtimeMetricsIntervalMs, 30000);
    assert.ok(Object.isFrozen(config));
  });

  test('--port overrides only the port of --bind-addr; IPv6 and host names are accepted', () => {
    assert.deepEqual(
      [loadRunConfig({ bindAddr: '0.0.0.0:8080', port: '9090' })].map((c) => [c.host, c.port]),
      [['0.0.0.0', 9090]],
    );
    const v6 = loadRunConfig({ bindAddr: '[::1]:4000' });
    assert.deepEqual([v6.host, v6.port], ['::1', 4000]);
    const named = loadRunConfig({ bindAddr: 'localhost:0' });
    assert.deepEqual([named.host, named.port], ['localhost', 0]);
  });

  test('a telemetry directory is created when missing and resolved to an absolute path', () => {
    const config = loadRunConfig({ telemetryDir: join(dir, 'a', 'b') });
    assert.equal(config.telemetryDir, join(dir, 'a', 'b'));
  });

  test('EMF settings: namespace from the service name, dimension sets, validation by NODE_ENV', () => {
    const dev = loadRunConfig(
      { metricsFormat: 'emf', serviceName: 'items', emfDimensions: 'Operation;Operation,StatusCode;' },
      undefined,
    );
    assert.deepEqual(dev.emf, {
      namespace: 'items',
      dimensions: [['Operation'], ['Operation', 'StatusCode'], []],
      logGroupName: undefined,
      validation: 'strict',
    });
    assert.equal(loadRunConfig({ metricsFormat: 'emf' }, 'production').emf?.validation, 'off');
    assert.equal(
      loadRunConfig({ metricsFormat: 'emf', emfValidation: 'strict' }, 'production').emf?.validation,
      'strict',
    );
    assert.equal(loadRunConfig({}).emf, undefined);
  });

  test('metrics endpoint: the agent port by default; sample rate', () => {
    assert.deepEqual(loadRunConfig({ metricsEndpoint: 'tcp://localhost' }).metricsEndpoint, {
      protocol: 'tcp',
      host: 'localhost',
      port: 25888,
    });
    assert.deepEqual(loadRunConfig({ metricsEndpoint: 'udp://[::1]:9999' }).metricsEndpoint, {
      protocol: 'udp',
      host: '::1',
      port: 9999,
    });
    assert.equal(loadRunConfig({ metricsSampleRate: '0.1' }).metricsSampleRate, 0.1);
    assert.equal(loadRunConfig({}).metricsSampleRate, 1);
  });

  test('the downstream URL keeps its path prefix', () => {
    assert.equal(
      loadRunConfig({ downstreamUrl: 'http://127.0.0.1:9/api/' }).downstreamUrl?.href,
      'http://127.0.0.1:9/api/',
    );
  });

  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const cases: Array<[string, Record<string, string>, string]> = [
    [
      'port out of range',
      { port: '70000' },
      'invalid value "70000" for --port (PORT): expected an integer port from 0 to 65535',
    ],
    [
      'port not a number',
      { port: '80a' },
      'invalid value "80a" for --port (PORT): expected an integer port from 0 to 65535',
    ],
    [
      'bind address without a port',
      { bindAddr: 'localhost' },
      'invalid value "localhost" for --bind-addr (BIND_ADDR): expected host:port, e.g. 127.0.0.1:3000, 0.0.0.0:8080 or [::1]:3000',
    ],
    [
      'unknown log level',
      { logFilter: 'info,service=chatty' },
      'invalid value "info,service=chatty" for --log-filter (LOG_FILTER): unknown level "chatty"; expected one of trace, debug, info, warn, error, fatal, off',
    ],
    [
      'a URL that is not http(s)',
      { downstreamUrl: 'ftp://example.com' },
      'invalid value "ftp://example.com" for --downstream-url (DOWNSTREAM_URL): expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:3001',
    ],
    [
      'not a URL at all',
      { downstreamUrl: 'localhost:3000' },
      'invalid value "localhost:3000" for --downstream-url (DOWNSTREAM_URL): expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:3001',
    ],
    [
      'a telemetry dir that is a file',
      { telemetryDir: file },
      `invalid value ${JSON.stringify(file)} for --telemetry-dir (TELEMETRY_DIR): expected a directory, found a file`,
    ],
    [
      'a telemetry dir below a file',
      { telemetryDir: join(file, 'sub') },
      `invalid value ${JSON.stringify(join(file, 'sub'))} for --telemetry-dir (TELEMETRY_DIR): expected a directory path (a path component is a file)`,
    ],
    [
      'an unknown metrics format',
      { metricsFormat: 'xml' },
      'invalid value "xml" for --metrics-format (METRICS_FORMAT): expected one of json, emf',
    ],
    [
      'a negative timeout',
      { drainTimeoutMs: '-5' },
      'invalid value "-5" for --drain-timeout-ms (DRAIN_TIMEOUT_MS): expected whole milliseconds from 0 to 3600000',
    ],
    [
      'an empty service name',
      { serviceName: ' ' },
      'invalid value " " for --service-name (SERVICE_NAME): expected a non-empty name of at most 256 printable characters',
    ],
  ];
  cases.push(
    [
      'EMF options without --metrics-format emf',
      { emfNamespace: 'Ns' },
      'invalid value "Ns" for --emf-namespace (EMF_NAMESPACE): only applies with --metrics-format emf',
    ],
    [
      'a metric as a dimension',
      { metricsFormat: 'emf', emfDimensions: 'Operation,Duration' },
      'invalid value "Operation,Duration" for --emf-dimensions (EMF_DIMENSIONS): Duration is a metric; dimensions must be properties (Operation, Path, Reason, RequestId, StatusCode, service_name)',
    ],
    [
      'an unknown dimension',
      { metricsFormat: 'emf', emfDimensions: 'Operation;Region' },
      'invalid value "Operation;Region" for --emf-dimensions (EMF_DIMENSIONS): unknown dimension Region; expected one of Operation, Path, Reason, RequestId, StatusCode, service_name',
    ],
    [
      'more than 30 dimension keys in a set',
      { metricsFormat: 'emf', emfDimensions: Array.from({ length: 31 }, () => 'Operation').join(',') },
      `invalid value "${Array.from({ length: 31 }, () => 'Operation').join(',')}" for --emf-dimensions (EMF_DIMENSIONS): expected at most 30 keys per set, found 31`,
    ],
    [
      'a dimension only some records have',
      { metricsFormat: 'emf', emfDimensions: 'Operation,ErrorKind' },
      'invalid value "Operation,ErrorKind" for --emf-dimensions (EMF_DIMENSIONS): ErrorKind is only set on some records; dimensions must always be present (Operation, Path, Reason, RequestId, StatusCode, service_name)',
    ],
    [
      'a namespace CloudWatch reserves',
      { metricsFormat: 'emf', emfNamespace: 'AWS/Lambda' },
      'invalid value "AWS/Lambda" for --emf-namespace (EMF_NAMESPACE): expected 1 to 255 characters from A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/',
    ],
    [
      'an unknown validation mode',
      { metricsFormat: 'emf', emfValidation: 'loose' },
      'invalid value "loose" for --emf-validation (EMF_VALIDATION): expected strict or off',
    ],
    [
      'an endpoint that is not tcp or udp',
      { metricsEndpoint: 'http://127.0.0.1:25888' },
      'invalid value "http://127.0.0.1:25888" for --metrics-endpoint (METRICS_ENDPOINT): expected tcp://host:port or udp://host:port (port 25888 if omitted), e.g. tcp://127.0.0.1:25888',
    ],
    [
      'a sample rate of 0',
      { metricsSampleRate: '0' },
      'invalid value "0" for --metrics-sample-rate (METRICS_SAMPLE_RATE): expected a fraction from 0.000001 to 1, e.g. 0.1',
    ],
    [
      'a sample rate above 1',
      { metricsSampleRate: '1.5' },
      'invalid value "1.5" for --metrics-sample-rate (METRICS_SAMPLE_RATE): expected a fraction from 0.000001 to 1, e.g. 0.1',
    ],
  );
  for (const [name, raw, message] of cases) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => loadRunConfig(raw),
        (err: unknown) => {
          assert.ok(err instanceof InvalidOptionError);
          assert.equal(err.code, 'SVC_ERR_INVALID_OPTION');
          assert.equal(err.exitCode, 2);
          assert.equal(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('--headers-timeout-ms', () => {
  test('10 s by default; flag or HEADERS_TIMEOUT_MS in whole milliseconds from 1', () => {
    assert.equal(loadRunConfig({}).headersTimeoutMs, 10000);
    assert.equal(loadRunConfig({ headersTimeoutMs: '2500' }).headersTimeoutMs, 2500);
    assert.throws(() => loadRunConfig({ headersTimeoutMs: '0' }), {
      message:
        'invalid value "0" for --headers-timeout-ms (HEADERS_TIMEOUT_MS): expected whole milliseconds from 1 to 3600000',
    });
  });
});
