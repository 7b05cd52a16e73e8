import { Hub } from '../../src/index.js';
import { InvalidOperationException } from './dotnet-exceptions.js';

/**
 * The functional tests' UncreatableHub. ASP.NET Core creates hubs per call and fails to resolve a
 * constructor dependency when the connection starts; a Nest hub is a singleton that must bootstrap,
 * so the failure happens where the client sees it: in onConnected, which closes the connection
 * with the same error.
 */
@Hub('/uncreatable')
export class UncreatableHub extends Hub {
  onConnected(): void {
    throw new InvalidOperationException("Unable to resolve service for type 'System.Object' while attempting to activate 'FunctionalTests.UncreatableHub'.");
  }
}
