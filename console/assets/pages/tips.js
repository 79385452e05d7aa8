// The two ids users confuse, explained once for every page that shows them.
export const SESSION_ID_TIP =
  "Our session: the database record that groups tasks for one project. Every task belongs to exactly one, for good.";
export const CLAUDE_SESSION_ID_TIP =
  "Claude's conversation id for this task, used to continue the conversation. Minted on the task's first run, " +
  "never shared with another task; a fork gets its own. Empty until the task has run.";
