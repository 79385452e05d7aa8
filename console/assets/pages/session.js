// A session: its tasks with their status kept current, and the form that starts one.
import { offer } from "../app.js";
import { call, get } from "../api.js";
import { errorSlot, field, h, short, when, withTip } from "../dom.js";
import { SESSION_ID_TIP } from "./tips.js";

const ACTIVE = new Set(["queued", "running"]);

export async function sessionPage(main, sessionId) {
  const problem = errorSlot();
  main.append(problem);
  let session;
  let capabilities;
  try {
    [session, capabilities] = await Promise.all([get(`/sessions/${sessionId}`), offer()]);
  } catch (err) {
    main.prepend(h("h1", {}, "Session"));
    problem.show(err);
    return;
  }
  const label = session.name || short(session.session_id);
  const body = h("tbody");
  const status = h("p", { role: "status", class: "quiet" });
  main.prepend(
    h("p", {}, h("a", { href: "#/sessions" }, "← All sessions")),
    h("h1", {}, `Session ${label}`),
    h(
      "dl",
      { class: "ids" },
      h("dt", {}, "Project"),
      h("dd", {}, h("code", {}, session.project_path)),
      h("dt", {}, withTip("session_id", SESSION_ID_TIP)),
      h("dd", {}, h("code", {}, session.session_id)),
    ),
  );
  main.append(
    h("h2", {}, "Tasks"),
    h(
      "table",
      { "aria-label": "Tasks" },
      h("thead", {}, h("tr", {}, ["Task", "Status", "Interactions", "Tokens", "Created"].map((c) => h("th", { scope: "col" }, c)))),
      body,
    ),
    status,
    startForm(session, capabilities),
  );

  let timer = null;
  let stopped = false;
  async function refresh() {
    let delay = 5000;
    try {
      const tasks = [];
      let cursor = null;
      do {
        const page = await get(`/sessions/${sessionId}/tasks`, { limit: 100, cursor });
        tasks.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      body.replaceChildren(...tasks.map(row));
      if (!tasks.length) body.append(h("tr", {}, h("td", { colspan: "5" }, "No tasks yet: start one above.")));
      // Poll fast while something runs, slowly when all is still.
      delay = tasks.some((t) => ACTIVE.has(t.status)) ? 1000 : 5000;
      status.textContent = `${tasks.length} task(s); updated ${new Date().toLocaleTimeString()}.`;
      problem.clear();
    } catch (err) {
      problem.show(err);
    }
    if (!stopped) timer = setTimeout(refresh, delay);
  }
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function row(task) {
  const label = task.title || excerpt(task.prompt);
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `#/tasks/${task.task_id}` }, label)),
    h("td", {}, h("span", { class: `badge ${task.status}` }, task.status)),
    h("td", {}, String(task.interaction_count)),
    h("td", {}, String((task.usage?.input_tokens || 0) + (task.usage?.output_tokens || 0))),
    h("td", {}, when(task.created_at)),
  );
}

export const excerpt = (text, n = 60) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** Start a task: the backends, models and maxima come from GET /capabilities, so what it offers is accepted. */
function startForm(session, capabilities) {
  const limits = capabilities.limits || {};
  const prompt = h("textarea", { name: "prompt", required: true, rows: "4", maxlength: String(limits.max_prompt_chars || "") });
  const backend = h(
    "select",
    { name: "backend" },
    capabilities.backends.map((b) => h("option", { value: b.name, selected: b.name === capabilities.default_backend }, b.name)),
  );
  const model = h("select", { name: "model" });
  const maxTurns = h("input", { name: "max_turns", type: "number", min: "1", max: String(limits.max_turns || 1000) });
  const maxTokens = h("input", { name: "max_tokens", type: "number", min: "1", max: String(limits.max_tokens || "") });
  const budget = h("input", { name: "max_budget_usd", type: "number", min: "0.01", step: "0.01" });
  const tools = h("input", { name: "allowed_tools", placeholder: "Read, Edit, Bash(git diff:*)" });
  const mode = h("select", { name: "permission_mode" }, h("option", { value: "" }, "default (acceptEdits)"), (capabilities.permission_modes || []).map((m) => h("option", { value: m }, m)));
  const workspace = h("select", { name: "workspace" }, (capabilities.workspaces || []).map((w) => h("option", { value: w }, w)));
  const agent = h(
    "fieldset",
    {},
    h("legend", {}, "Claude Code options (claude-code backend only)"),
    field("Allowed tools", tools, "Comma-separated tool names or permission rules."),
    h(
      "div",
      { class: "row" },
      field("Permission mode", mode),
      field("Workspace", workspace, "project: the session's folder; worktree: a git worktree of it for this task."),
    ),
  );
  const problem = errorSlot();

  function sync() {
    const chosen = capabilities.backends.find((b) => b.name === backend.value);
    model.replaceChildren(
      h("option", { value: "" }, chosen?.default_model ? `default (${chosen.default_model})` : "default"),
      (chosen?.models || []).map((m) => h("option", { value: m }, m)),
    );
    model.disabled = !chosen?.models?.length;
    agent.disabled = backend.value !== "claude-code";
    agent.hidden = !(capabilities.permission_modes || []).length;
  }
  backend.addEventListener("change", sync);
  sync();

  return h(
    "form",
    {
      "aria-label": "Start a task",
      onsubmit: async (event) => {
        event.preventDefault();
        problem.clear();
        const body = { prompt: prompt.value, backend: backend.value, limits: {} };
        if (model.value) body.model = model.value;
        if (maxTokens.value) body.max_tokens = Number(maxTokens.value);
        if (maxTurns.value) body.limits.max_turns = Number(maxTurns.value);
        if (budget.value) body.limits.max_budget_usd = Number(budget.value);
        if (!agent.disabled) {
          const rules = tools.value.split(/,(?![^(]*\))/).map((t) => t.trim()).filter(Boolean);
          if (rules.length) body.allowed_tools = rules;
          if (mode.value) body.permission_mode = mode.value;
          if (workspace.value && workspace.value !== "project") body.workspace = workspace.value;
        }
        try {
          const task = await call("POST", `/sessions/${session.session_id}/tasks`, body);
          location.hash = `#/tasks/${task.task_id}`;
        } catch (err) {
          problem.show(err);
        }
      },
    },
    h("h2", {}, "Start a task"),
    field("Prompt", prompt),
    h("div", { class: "row" }, field("Backend", backend), field("Model", model)),
    h(
      "div",
      { class: "row" },
      field("Max turns", maxTurns),
      field("Max tokens per reply", maxTokens),
      field("Max budget (USD)", budget),
    ),
    agent,
    h("button", { type: "submit" }, "Start task"),
    problem,
  );
}
