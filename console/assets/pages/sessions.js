// Sessions: the caller's sessions, a page at a time; open a new one; delete one, the cascade spelled out.
import { call, get } from "../api.js";
import { errorSlot, field, h, short, when } from "../dom.js";

const PAGE = 20;

export function sessionsPage(main) {
  const cursors = [null]; // the cursor of each page seen, for "Previous page"
  const body = h("tbody");
  const listProblem = errorSlot();
  const position = h("p", { role: "status" });
  const previous = h("button", { type: "button", onclick: () => load(cursors.length - 2) }, "Previous page");
  const next = h("button", { type: "button" }, "Next page");
  const dialog = deleteDialog(() => load(cursors.length - 1));

  async function load(index) {
    listProblem.clear();
    try {
      const page = await get("/sessions", { limit: PAGE, cursor: cursors[index] });
      cursors.length = index + 1;
      body.replaceChildren(...page.items.map((s) => row(s, dialog)));
      if (!page.items.length) body.append(h("tr", {}, h("td", { colspan: "5" }, "No sessions yet: open one above.")));
      position.textContent = `Page ${index + 1}: ${page.items.length} session(s)${page.next_cursor ? ", more on the next page" : ""}.`;
      previous.disabled = index === 0;
      next.disabled = !page.next_cursor;
      next.onclick = () => {
        cursors.push(page.next_cursor);
        load(cursors.length - 1);
      };
    } catch (err) {
      listProblem.show(err);
    }
  }

  main.append(
    h("h1", {}, "Sessions"),
    openForm(),
    h("h2", {}, "Your sessions"),
    listProblem,
    h(
      "table",
      { "aria-label": "Your sessions" },
      h("thead", {}, h("tr", {}, ["Name", "Project", "Tasks", "Created", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
      body,
    ),
    h("div", { class: "pager" }, previous, next, position),
    dialog,
  );
  load(0);
}

function openForm() {
  const path = h("input", { name: "project_path", required: true, placeholder: "/work/my-project" });
  const name = h("input", { name: "name", maxlength: "200" });
  const problem = errorSlot();
  const form = h(
    "form",
    {
      "aria-label": "Open a session",
      onsubmit: async (event) => {
        event.preventDefault();
        problem.clear();
        try {
          const body = { project_path: path.value.trim() };
          if (name.value.trim()) body.name = name.value.trim();
          const session = await call("POST", "/sessions", body);
          location.hash = `#/sessions/${session.session_id}`;
        } catch (err) {
          problem.show(err);
        }
      },
    },
    h("h2", {}, "Open a session"),
    field("Project path", path, "An absolute path: Claude Code works there."),
    field("Name (optional)", name),
    h("button", { type: "submit" }, "Open session"),
    problem,
  );
  return form;
}

function row(session, dialog) {
  const label = session.name || short(session.session_id);
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `#/sessions/${session.session_id}` }, label)),
    h("td", {}, h("code", {}, session.project_path)),
    h("td", {}, String(session.task_count)),
    h("td", {}, when(session.created_at)),
    h("td", {}, h("button", { type: "button", "aria-label": `Delete session ${label}`, onclick: () => dialog.ask(session, label) }, "Delete…")),
  );
}

/** The delete dialog: what each choice does, in words, before anything is deleted. */
function deleteDialog(reload) {
  const title = h("h2", { id: "delete-title" });
  const explain = h("p", { id: "delete-explain" });
  const problem = errorSlot();
  const cascade = h("button", { type: "button", class: "danger" });
  const only = h("button", { type: "button" }, "Delete only if it has no tasks");
  const keep = h("button", { type: "button", onclick: () => dialog.close() }, "Keep it");
  const dialog = h("dialog", { "aria-labelledby": "delete-title", "aria-describedby": "delete-explain" }, title, explain, h("div", { class: "actions" }, cascade, only, keep), problem);
  let current = null;
  async function remove(withTasks) {
    problem.clear();
    try {
      await call("DELETE", `/sessions/${current.session_id}${withTasks ? "?cascade=true" : ""}`);
      dialog.close();
      reload();
    } catch (err) {
      problem.show(err);
    }
  }
  cascade.onclick = () => remove(true);
  only.onclick = () => remove(false);
  dialog.ask = (session, label) => {
    current = session;
    problem.clear();
    const n = session.task_count;
    title.textContent = `Delete session ${label}?`;
    explain.textContent =
      `It has ${n} task(s). "Delete with its tasks" removes the session, its ${n} task(s) and every turn of ` +
      `their conversations, for good. "Delete only if it has no tasks" removes it only when it is empty, and is refused otherwise. ` +
      "The project's files are not touched either way.";
    cascade.textContent = `Delete with its ${n} task(s)`;
    dialog.showModal();
    keep.focus();
  };
  return dialog;
}
