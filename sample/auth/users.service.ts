import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'crypto';

/** A demo account. Real apps keep password hashes (bcrypt, argon2) in a database. */
interface DemoAccount {
  username: string;
  password: string;
  roles: string[];
}

/** The sample's users, in memory (the README lists them). Only ada may send announcements. */
const ACCOUNTS: readonly DemoAccount[] = [
  { username: 'ada', password: 'lovelace', roles: ['admin'] },
  { username: 'bob', password: 'builder', roles: ['user'] },
  { username: 'grace', password: 'hopper', roles: ['user'] },
];

/** Fixed-length digests, so the comparison takes the same time whatever the password's length. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Checks demo credentials. */
@Injectable()
export class UsersService {
  /** The user's roles when the password matches, undefined otherwise (unknown user or wrong password alike). */
  verify(username: string, password: string): { username: string; roles: string[] } | undefined {
    const account = ACCOUNTS.find((candidate) => candidate.username === username);
    // Compared even for an unknown user, so the time taken does not tell which names exist.
    const matches = timingSafeEqual(digest(account?.password ?? ''), digest(password)) && account !== undefined;
    return matches ? { username: account.username, roles: [...account.roles] } : undefined;
  }
}
