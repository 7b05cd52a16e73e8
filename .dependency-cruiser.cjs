/**
 * Import rules for src/ (`npm run lint:deps`): no cycles (type-only imports included), imports point
 * down the layers, and only src/platforms/framework-internals.ts reaches into a framework's
 * internals. The layers, bottom to top (each may import the ones below it, never the ones above):
 *
 *   shared       signalr.constants.ts, signalr.messages.ts, logging/, auth/, platforms/, observability/: no SignalR layer below them
 *   protocol/    hub protocols and framing: pure, no I/O
 *   connection/  one hub connection: handshake, keep-alive, write queue, replay
 *   transports/  HTTP and WebSocket plumbing over connection's contracts (no hub semantics)
 *   hub/         hub methods: discovery, dispatch, Nest's pipeline, streams, the call scope
 *   lifetime/    fan-out to connections (HubLifetimeManager), client results
 *   redis/       the Redis backplane (its own package entry, ./redis)
 *   clients/     HubClients, ClientProxy, GroupManager, HubContext: targets over a lifetime manager
 *   decorators/  the public face of hubs: @Hub and the Hub base class, @HubMethodName, @InjectHubContext
 *   connection-handlers/  raw (non-hub) connection endpoints, over transports and hub discovery
 *   statistics/  live connection counts, kept by the connection loop's calls to the lifetime manager
 *   composition  index.ts, signalr.module.ts, signalr.server.ts, signalr.registry.ts, signalr.module-definition.ts
 *   testing/     the ./testing entry (in-memory transport, test helpers), over everything
 *   terminus/    the ./terminus entry (a @nestjs/terminus health indicator over SignalRStatistics), over everything
 *
 * transports/ and hub/ sit side by side and may not import each other; so do redis/ and clients/.
 * interfaces/ holds the options and request contracts every layer reads: anyone may import it, and
 * it imports only types. client/ (the ./client entry, for client-side code) imports only types from
 * the server side, so it never loads server code.
 */
const SHARED = ['^src/signalr\\.(constants|messages)\\.ts$', '^src/(logging|auth|platforms|observability)/'];
const CONTRACTS = ['^src/interfaces/'];

/** What each layer may import besides itself, shared code and the contracts. */
const LAYERS = {
  protocol: [],
  connection: ['protocol'],
  transports: ['connection', 'protocol'],
  hub: ['connection', 'protocol'],
  lifetime: ['hub', 'connection', 'protocol'],
  redis: ['lifetime', 'hub', 'connection', 'protocol'],
  clients: ['lifetime', 'hub', 'connection', 'protocol'],
  decorators: ['clients', 'lifetime', 'hub', 'connection', 'protocol'],
  'connection-handlers': ['transports', 'hub', 'connection', 'protocol'],
  statistics: ['connection', 'protocol'],
};

const folder = (name) => `^src/${name}/`;

const layerRules = Object.entries(LAYERS).map(([layer, below]) => ({
  name: `layer-${layer}`,
  comment: `${layer}/ imports only ${[...below, 'shared code', 'interfaces/'].join(', ')} (the layers point one way)`,
  severity: 'error',
  from: { path: folder(layer) },
  to: { path: '^src/', pathNot: [folder(layer), ...below.map(folder), ...SHARED, ...CONTRACTS] },
}));

/** A deep path into a framework package: anything but its root entry (@nestjs/terminus's is dist/index). */
const FRAMEWORK_INTERNALS = [
  '(^|/)node_modules/@nestjs/(?!terminus/dist/index\\.(js|d\\.ts)$)[^/]+/(?!index\\.(js|d\\.ts)$).+',
  '(^|/)node_modules/fastify/(?!fastify\\.(js|d\\.ts)$).+',
  '(^|/)node_modules/@fastify/[^/]+/.+/.+',
  '(^|/)node_modules/express/(?!index\\.js$).+',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles, type-only ones included, tie layers together; break them by moving the shared part down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'shared-below-layers',
      comment: 'Shared code (constants, messages, logging, auth, platforms) sits below every layer.',
      severity: 'error',
      from: { path: SHARED },
      to: { path: '^src/', pathNot: [...SHARED, ...CONTRACTS] },
    },
    {
      name: 'contracts-import-types-only',
      comment: 'interfaces/ is read by every layer, so it only names types from them.',
      severity: 'error',
      from: { path: CONTRACTS },
      to: { path: '^src/', pathNot: [...SHARED, ...CONTRACTS], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'client-entry-types-only',
      comment: 'The ./client entry runs in client code: it names server types but never loads server modules.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/client/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'framework-internals-in-one-file',
      comment:
        'Deep imports of Nest, Fastify or Express internals go through src/platforms/framework-internals.ts, whose test (test/unit/framework-internals.spec.ts) catches a framework release that moves them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/platforms/framework-internals\\.ts$' },
      to: { path: FRAMEWORK_INTERNALS },
    },
  ],
  options: {
    // Type-only imports count: a cycle of types is still a cycle in the design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    includeOnly: { path: ['^src/', 'node_modules/'] },
  },
};
