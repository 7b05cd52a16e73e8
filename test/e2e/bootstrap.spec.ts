import { Test } from '@nestjs/testing';
import { Hub, SignalRModule } from '../../src/index.js';
import { PerRequestService, ScopedDependencyHub } from '../fixtures/scoped.hub.js';
import { DuplicateMethodHub, FirstDuplicatePathHub, SecondDuplicatePathHub } from '../fixtures/duplicate.hubs.js';
import { createApp } from '../support/app.js';

async function bootstrap(providers: any[]): Promise<void> {
  const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot()], providers }).compile();
  const app = createApp(moduleRef);
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

describe('bootstrap checks', () => {
  it('refuses two hubs on one path, compared case-insensitively', async () => {
    await expect(bootstrap([FirstDuplicatePathHub, SecondDuplicatePathHub])).rejects.toThrow(
      "Hub path '/HUBS/Dup' is used by both FirstDuplicatePathHub and SecondDuplicatePathHub. Each hub needs its own path.",
    );
  });

  it('refuses two methods with one wire name', async () => {
    await expect(bootstrap([DuplicateMethodHub])).rejects.toThrow(
      "Hub DuplicateMethodHub has more than one method named 'SEND' (names are compared case-insensitively). Rename one with @HubMethodName().",
    );
  });

  it('refuses a hub that a request-scoped dependency would make scoped', async () => {
    await expect(bootstrap([ScopedDependencyHub, PerRequestService])).rejects.toThrow(
      'Hub ScopedDependencyHub is request-scoped or depends on a request-scoped provider; hubs must be singletons (the caller reaches methods through this.context).',
    );
  });

  it('refuses a hub without a path', () => {
    expect(() => Hub('  ')).toThrow('@Hub() needs the path the hub is served at.');
  });
});
