// A task: its conversation as it grows (polling `after_seq`), totals, follow-ups, cancel, retry and fork.
// Words as the API uses them: each item is an interaction; a turn (the task's `turns`) is a prompt and its answer.
import { call, get } from "../api.js";
import { errorSlot, field, h, seconds, short, tokens, usd, when, withTip } from "../dom.js";
import { markdown } from "../markdown.js";
import { CLAUDE_SESSION_ID_TIP, SESSION_ID_TIP } from "./tips.js";

const ACTIVE = new Set(["queued", "running"]);
const FAST_MS = 1000; // a running task's turns show within about 2 s
const IDLE_MS = 5000;

export async function taskPage(main, taskId) {
  const problem = errorSlot();
  let task;
  try {
    task = await get(`/tasks/${taskId}`);
  } catch (err) {
    main.append(h("h1", {}, "Task"), problem);
    problem.show(err);
    return;
  }
  const status = h("span", { class: `badge ${task.status}` });
  const statusLine = h("p", { role: "status", "aria-live": "polite" }, "Status: ", status, " ", h("span", { class: "quiet" }));
  const ids = h("dl", { class: "ids" });
  const totals = h("p", { class: "totals", "aria-label": "Totals" });
  const turns = h("ol", { class: "conversation", "aria-label": "Conversation" });
  const conversation = new Conversation(turns);
  const actions = taskActions(taskId, () => poll.now());
  const followUp = followUpForm(taskId, () => poll.now());

  main.append(
    h("p", {}, h("a", { href: `#/sessions/${task.session_id}` }, "← Session")),
    h("h1", {}, `Task ${task.title || short(task.task_id)}`),
    statusLine,
    ids,
    actions,
    h("h2", {}, "Conversation"),
    totals,
    turns,
    followUp,
    problem,
  );

  function show(current) {
    task = current;
    status.textContent = task.status;
    status.className = `badge ${task.status}`;
    const pending = task.pending_prompts?.length ? `${task.pending_prompts.length} prompt(s) waiting` : "";
    statusLine.lastChild.textContent = [task.error ? `Error: ${task.error}` : "", pending].filter(Boolean).join(" · ");
    ids.replaceChildren(
      h("div", {}, h("dt", {}, withTip("session_id", SESSION_ID_TIP)), h("dd", {}, h("a", { href: `#/sessions/${task.session_id}` }, h("code", {}, task.session_id)))),
      h("div", {}, h("dt", {}, withTip("claude_session_id", CLAUDE_SESSION_ID_TIP)), h("dd", {}, h("code", {}, task.claude_session_id || "— (not run yet)"))),
      task.forked_from ? h("div", {}, h("dt", {}, "Forked from"), h("dd", {}, h("a", { href: `#/tasks/${task.forked_from}` }, short(task.forked_from)))) : "",
    );
    totals.textContent =
      `Total: ${conversation.count} interaction(s) in ${task.turns} turn(s), ${tokens(task.usage)} tokens ` +
      `(${task.usage?.input_tokens || 0} in, ${task.usage?.output_tokens || 0} out), ${usd(task.cost_usd)}, ` +
      `${seconds(conversation.durationMs)} of model time.`;
  }

  const poll = poller(async () => {
    const [current] = await Promise.all([get(`/tasks/${taskId}`), conversation.fetchNew(taskId)]);
    show(current);
    problem.clear();
    return ACTIVE.has(current.status) || current.pending_prompts?.length ? FAST_MS : IDLE_MS;
  }, problem);
  show(task);
  poll.now();
  return poll.stop;
}

/** Runs `step` again after the delay it returns; `now()` runs it at once (after an action). */
function poller(step, problem) {
  let timer = null;
  let stopped = false;
  let running = false;
  async function run() {
    clearTimeout(timer);
    if (running || stopped) return;
    running = true;
    let delay = IDLE_MS;
    try {
      delay = await step();
    } catch (err) {
      if (err.status !== 401) problem.show(err);
    }
    running = false;
    if (!stopped) timer = setTimeout(run, delay);
  }
  return {
    now: run,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The turns on the page; tool use and its result share one folded line (`<details>`). */
class Conversation {
  constructor(list) {
    this.list = list;
    list.dataset.opened = Date.now(); // with each turn's data-created and data-shown: how fast turns show up
    this.lastSeq = 0;
    this.count = 0;
    this.durationMs = 0;
    this.tools = new Map();
  }

  async fetchNew(taskId) {
    let cursor = null;
    do {
      const page = await get(`/tasks/${taskId}/interactions`, { after_seq: this.lastSeq, limit: 100, cursor });
      for (const turn of page.items) this.add(turn);
      cursor = page.next_cursor;
    } while (cursor);
  }

  add(turn) {
    if (turn.seq <= this.lastSeq) return;
    this.lastSeq = turn.seq;
    this.count += 1;
    this.durationMs += turn.duration_ms || 0;
    if (turn.role === "tool") return this.addTool(turn);
    const body = turn.role === "user" || turn.role === "assistant" ? markdown(turn.content) : h("pre", {}, turn.content);
    this.list.append(
      h(
        "li",
        { class: `turn ${turn.role}`, "data-seq": turn.seq, "data-created": turn.created_at, "data-shown": Date.now() },
        h("article", { "aria-label": `Interaction ${turn.seq}: ${turn.role}` }, h("h3", {}, roleName(turn.role)), h("div", { class: "content" }, body), meta(turn)),
      ),
    );
  }

  addTool(turn) {
    const isResult = turn.stop_reason === "tool_result" || turn.stop_reason === "tool_error";
    let folded = turn.tool_use_id ? this.tools.get(turn.tool_use_id) : null;
    if (!folded) {
      const summary = h("summary", {}, `Tool ${turn.tool_name || "call"}: `, h("code", {}, oneLine(isResult ? "" : turn.content)));
      folded = h("details", {}, summary);
      this.list.append(
        h("li", { class: "turn tool", "data-seq": turn.seq, "data-created": turn.created_at, "data-shown": Date.now() }, h("article", { "aria-label": `Interaction ${turn.seq}: tool ${turn.tool_name || ""}` }, folded)),
      );
      if (turn.tool_use_id) this.tools.set(turn.tool_use_id, folded);
    }
    const title = isResult ? (turn.stop_reason === "tool_error" ? "Error" : "Result") : "Input";
    folded.append(h("h4", {}, title), h("pre", {}, pretty(turn.content)), meta(turn));
    if (turn.stop_reason === "tool_error") folded.classList.add("failed");
  }
}

const roleName = (role) => ({ user: "You", assistant: "Claude", system: "System", error: "Error" })[role] || role;
const oneLine = (text) => (text.replace(/\s+/g, " ").length > 100 ? `${text.replace(/\s+/g, " ").slice(0, 99)}…` : text.replace(/\s+/g, " "));

function pretty(content) {
  try {
    return JSON.stringify(JSON.parse(content), null, 2);
  } catch {
    return content;
  }
}

function meta(turn) {
  const parts = [`#${turn.seq}`, when(turn.created_at)];
  if (tokens(turn.usage)) parts.push(`${turn.usage.input_tokens} in / ${turn.usage.output_tokens} out tokens`);
  if (turn.cost_usd) parts.push(usd(turn.cost_usd));
  if (turn.duration_ms != null) parts.push(seconds(turn.duration_ms));
  if (turn.model) parts.push(turn.model);
  return h("p", { class: "meta" }, parts.join(" · "));
}

function taskActions(taskId, changed) {
  const problem = errorSlot();
  const forkPrompt = h("input", { name: "fork_prompt" });
  const act = (path, body, after) => async () => {
    problem.clear();
    try {
      const result = await call("POST", `/tasks/${taskId}/${path}`, body);
      if (after) after(result);
      else changed();
    } catch (err) {
      problem.show(err);
    }
  };
  return h(
    "section",
    { "aria-label": "Task actions", class: "actions" },
    h("button", { type: "button", onclick: act("cancel", {}) }, "Cancel task"),
    h("button", { type: "button", onclick: act("retry", {}) }, "Retry task"),
    h(
      "form",
      {
        class: "inline",
        "aria-label": "Fork",
        onsubmit: (event) => {
          event.preventDefault();
          const body = forkPrompt.value.trim() ? { prompt: forkPrompt.value.trim() } : {};
          act("fork", body, (forked) => {
            location.hash = `#/tasks/${forked.task_id}`;
          })();
        },
      },
      field("Fork with prompt (optional)", forkPrompt),
      h("button", { type: "submit" }, "Fork task"),
    ),
    problem,
  );
}

function followUpForm(taskId, changed) {
  const prompt = h("textarea", { name: "follow_up", rows: "3", required: true });
  const problem = errorSlot();
  return h(
    "form",
    {
      "aria-label": "Follow-up",
      onsubmit: async (event) => {
        event.preventDefault();
        problem.clear();
        try {
          await call("POST", `/tasks/${taskId}/messages`, { prompt: prompt.value });
          prompt.value = "";
          changed();
        } catch (err) {
          problem.show(err);
        }
      },
    },
    field("Follow-up", prompt, "Continues this task's conversation; sent while it runs, it waits its turn."),
    h("button", { type: "submit" }, "Send follow-up"),
    problem,
  );
}
