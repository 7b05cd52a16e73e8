import { ConnectionHandler, type OnRawConnection, type RawConnection } from '../../src/index.js';

/** The functional tests' EchoConnectionHandler: every message goes back as it came (text as text). */
@ConnectionHandler('/echo')
export class EchoConnectionHandler implements OnRawConnection {
  async onConnected(connection: RawConnection): Promise<void> {
    for await (const message of connection) connection.send(message);
  }
}
