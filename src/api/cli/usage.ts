import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command line: the tool prints its usage and exits 2, having touched nothing. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** node's parseArgs, with its errors (unknown option, missing value) as UsageError. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
