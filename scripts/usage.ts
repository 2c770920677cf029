/** What was asked cannot run (bad flags, missing data): the repro scripts name it and exit 2. */
export class UsageError extends Error {}
