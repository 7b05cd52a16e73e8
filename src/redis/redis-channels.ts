/**
 * The channel names of ASP.NET Core's Redis backplane (RedisChannels): `{prefix}{hub}` then a
 * suffix per target, so one Redis can serve ASP.NET Core and Nest instances of the same hub.
 * Presence is ours; its channel and keys sit beside them under the same name.
 */
export class RedisChannels {
  readonly all: string;
  readonly groupManagement: string;
  readonly presence: string;
  /** Presence keys share one hash tag, so their scripts run on one Redis Cluster slot. */
  readonly presenceKey: string;

  constructor(
    /** `channelPrefix` + hub name, ASP.NET Core's `{p}`. */
    readonly prefix: string,
  ) {
    this.all = `${prefix}:all`;
    this.groupManagement = `${prefix}:internal:groups`;
    this.presence = `${prefix}:internal:presence`;
    this.presenceKey = `{${prefix}:presence}`;
  }

  connection(connectionId: string): string {
    return `${this.prefix}:connection:${connectionId}`;
  }

  group(groupName: string): string {
    return `${this.prefix}:group:${groupName}`;
  }

  user(userId: string): string {
    return `${this.prefix}:user:${userId}`;
  }

  ack(serverName: string): string {
    return `${this.prefix}:internal:ack:${serverName}`;
  }

  returnResults(serverName: string): string {
    return `${this.prefix}:internal:return:${serverName}`;
  }
}
