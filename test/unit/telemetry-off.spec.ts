/*
 * Without an OpenTelemetry SDK (or without @opentelemetry/api at all) every hook stays off: the hot
 * path checks one boolean and calls nothing of OpenTelemetry.
 */
describe('telemetry without an SDK', () => {
  afterEach(() => jest.resetModules());

  it('with @opentelemetry/api but no SDK registered, metrics and traces stay off and invocations are not observed', () => {
    jest.isolateModules(() => {
      const { telemetry, refreshTelemetry } = require('../../src/observability/telemetry-state.js');
      const { invocationTelemetry } = require('../../src/observability/invocation-telemetry.js');
      refreshTelemetry();
      expect([telemetry.metricsOn, telemetry.tracesOn]).toEqual([false, false]);
      const done = () => undefined;
      expect(invocationTelemetry.begin('Hub', 'Method', false, undefined, { request: null }, done, done)).toBeNull();
    });
  });

  it('with an SDK registered, both turn on; after it is disabled and the server starts again, both are off', () => {
    jest.isolateModules(() => {
      const api = require('@opentelemetry/api');
      const { MeterProvider } = require('@opentelemetry/sdk-metrics');
      const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
      const { telemetry, refreshTelemetry } = require('../../src/observability/telemetry-state.js');
      api.metrics.setGlobalMeterProvider(new MeterProvider());
      api.trace.setGlobalTracerProvider(new BasicTracerProvider());
      refreshTelemetry();
      expect([telemetry.metricsOn, telemetry.tracesOn]).toEqual([true, true]);
      api.metrics.disable();
      api.trace.disable();
      refreshTelemetry();
      expect([telemetry.metricsOn, telemetry.tracesOn]).toEqual([false, false]);
    });
  });

  it('without @opentelemetry/api installed, the module loads and telemetry stays off', () => {
    jest.isolateModules(() => {
      jest.doMock('@opentelemetry/api', () => {
        throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
      });
      const { otel } = require('../../src/observability/otel-api.js');
      const { telemetry, refreshTelemetry } = require('../../src/observability/telemetry-state.js');
      const { currentTraceHeaders } = require('../../src/observability/trace-context.js');
      refreshTelemetry();
      expect([otel, telemetry.metricsOn, telemetry.tracesOn, currentTraceHeaders()]).toEqual([null, false, false, null]);
      jest.dontMock('@opentelemetry/api');
    });
  });
});
