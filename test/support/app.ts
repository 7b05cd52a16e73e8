import { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'net';

/** A Nest app listening on a free port, with the base URL to reach it. */
export interface TestApp {
  app: INestApplication;
  baseUrl: string;
  url(path: string): string;
  close(): Promise<void>;
}

/** Builds the app from module metadata, listens on port 0 and returns its URL. */
export async function startApp(
  metadata: ModuleMetadata,
  configure?: (app: INestApplication) => void | Promise<void>,
): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return { app, baseUrl, url: (path) => `${baseUrl}${path}`, close: () => app.close() };
}
