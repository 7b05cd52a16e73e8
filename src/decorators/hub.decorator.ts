import { Injectable, SetMetadata, Type, applyDecorators } from '@nestjs/common';
import { HUB_METADATA } from '../signalr.constants.js';
import type { HubOptions } from '../interfaces/signalr-options.interface.js';
import { rememberHubClass } from './hub-classes.js';

/** What `@Hub()` records on a class. */
export interface HubMetadata {
  path: string;
  options: HubOptions;
}

/** The class decorator behind `@Hub(path, options)`; see `Hub` for the public face. */
export function hubClassDecorator(path: string, options: HubOptions = {}): ClassDecorator {
  if (typeof path !== 'string' || path.trim().length === 0) throw new Error('@Hub() needs the path the hub is served at.');
  const metadata: HubMetadata = { path, options };
  const decorate = applyDecorators(Injectable(), SetMetadata(HUB_METADATA, metadata));
  return (target) => {
    rememberHubClass(target as unknown as Type<unknown>);
    decorate(target);
  };
}
