/** Errors and log lines of the Redis backplane, in one place so tests and docs can quote them. */
export const RedisTexts = {
  missingIoredis: "redisBackplane() needs the 'ioredis' package (an optional peer dependency): npm install ioredis",
  prefixInUse: (prefix: string) =>
    `The Redis backplane already serves a hub named '${prefix}': give each app its own redisBackplane(), and hubs distinct names (the hubName option).`,
  noConnection: "redisBackplane() needs one of 'url', 'client', 'redis' or 'cluster'.",
  unavailable: 'The Redis backplane is not connected; only connections on this instance can be reached right now.',
  groupTimeout: (action: 'add' | 'remove', connectionId: string, groupName: string, timeout: number) =>
    `No instance acknowledged ${action === 'add' ? 'adding' : 'removing'} connection '${connectionId}' ${action === 'add' ? 'to' : 'from'} group '${groupName}' within ${timeout} ms: no instance owns that connection, or it is unreachable.`,
  connectionLost: 'The Redis backplane connection was lost before the answer arrived.',
  /** ASP.NET Core's text for a forwarded client result whose connection went away. */
  remoteDisconnected: 'Connection disconnected.',
  outage: (error: string) => `Redis backplane unreachable (${error}); serving this instance's connections only, reconnecting with backoff.`,
  recovered: (dropped: number) => `Redis backplane connected again; ${dropped} send(s) could not be published during the outage.`,
  missingProtocol: (protocol: string) =>
    `Messages from the backplane without a '${protocol}' encoding (published by an instance with other hub protocols) are dropped for '${protocol}' connections.`,
  unclaimedStart:
    'Redis backplane unreachable: connections start without a cluster-wide claim until it is back (a signed token could start its connection on two instances meanwhile).',
  badEnvelope: (channel: string, error: string) => `Dropped an unreadable backplane message on '${channel}': ${error}`,
};
