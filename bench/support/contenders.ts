import * as path from 'path';
import type { ProtocolName } from '../load/wire-protocols.js';

/** One stack under test: the server script it runs and the protocol the generator speaks to it. */
export interface Contender {
  readonly name: ProtocolName;
  readonly label: string;
  readonly server: string;
}

const server = (file: string) => path.join(__dirname, '..', 'servers', file);

export const CONTENDERS: Record<ProtocolName, Contender> = {
  'signalr-json': { name: 'signalr-json', label: 'nestjs-signalr JSON', server: server('signalr-server.ts') },
  'signalr-msgpack': { name: 'signalr-msgpack', label: 'nestjs-signalr MessagePack', server: server('signalr-server.ts') },
  'raw-ws': { name: 'raw-ws', label: 'raw ws (pre-built Buffers)', server: server('raw-ws-server.ts') },
  socketio: { name: 'socketio', label: 'Socket.IO 4 (websocket)', server: server('socketio-server.ts') },
  'nest-ws': { name: 'nest-ws', label: 'Nest gateway (platform-ws)', server: server('nest-ws-server.ts') },
};

export const ALL: ProtocolName[] = ['signalr-json', 'signalr-msgpack', 'raw-ws', 'socketio', 'nest-ws'];

/** The baselines every figure is divided by. */
export const BASELINES: ProtocolName[] = ['raw-ws', 'socketio'];
