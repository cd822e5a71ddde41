import { userInfo } from 'node:os';

/** The actor recorded for what a command-line tool does: `cli:<os user>`. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli'; // no passwd entry for this uid (some containers)
  }
}
