/*
 * `nestjs-signalr/terminus`: a @nestjs/terminus health indicator, an entry of its own so that only
 * apps that use it need `@nestjs/terminus` (an optional peer dependency) installed, and the main
 * entry's types never name it.
 */
export { SignalRHealthIndicator } from './signalr-health.indicator.js';
