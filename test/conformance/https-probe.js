// Drives the conformance server over HTTPS with the official client, from a process of its own: the
// server's certificate is self-signed, and Node reads NODE_TLS_REJECT_UNAUTHORIZED (set by the caller)
// only from its real environment, which a Jest test cannot change. Prints one JSON line per transport.
const { HttpTransportType, HubConnectionBuilder, LogLevel } = require('@microsoft/signalr');

async function probe(baseUrl, name) {
  const connection = new HubConnectionBuilder().withUrl(`${baseUrl}/testhub`, { transport: HttpTransportType[name] }).configureLogging(LogLevel.None).build();
  try {
    await connection.start();
    const result = {
      transport: await connection.invoke('GetActiveTransportName'),
      echo: await connection.invoke('Echo', '你好，世界！'),
      cookie: await connection.invoke('GetCookie', 'testCookie'),
    };
    await connection.stop();
    return result;
  } catch (error) {
    return { transport: name, error: error.message };
  }
}

(async () => {
  for (const name of ['WebSockets', 'ServerSentEvents', 'LongPolling']) console.log(JSON.stringify(await probe(process.argv[2], name)));
})();
