import type * as OpenTelemetryApi from '@opentelemetry/api';

/**
 * `@opentelemetry/api`, or null when the app does not have it (it is an optional peer): then every
 * instrument stays off and nothing of OpenTelemetry is loaded.
 */
export const otel: typeof OpenTelemetryApi | null = (() => {
  try {
    return require('@opentelemetry/api') as typeof OpenTelemetryApi;
  } catch {
    return null;
  }
})();
