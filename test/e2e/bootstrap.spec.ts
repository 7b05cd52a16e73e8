import { Test } from '@nestjs/testing';
import { Hub, SignalRModule } from '../../src/index.js';
import { DuplicateMethodHub, FirstDuplicatePathHub, SecondDuplicatePathHub } from '../fixtures/duplicate.hubs.js';

async function bootstrap(providers: any[]): Promise<void> {
  const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot()], providers }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
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

  it('refuses a hub without a path', () => {
    expect(() => Hub('  ')).toThrow('@Hub() needs the path the hub is served at.');
  });
});
