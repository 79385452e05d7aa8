// Administration: the consistency report (the seed report's table and every violation) and the dead-letter queue.
import { offer } from "../app.js";
import { call, get } from "../api.js";
import { errorSlot, h, when } from "../dom.js";

const FIGURES = [
  ["total_sessions", "Sessions"],
  ["sessions_with_tasks", "Sessions with tasks"],
  ["orphaned_sessions", "Orphaned sessions (no tasks)"],
  ["total_tasks", "Tasks"],
  ["tasks_with_valid_session", "Tasks with a valid session"],
  ["total_interactions", "Interactions"],
  ["tasks_with_claude_session_id", "Claude session ids assigned"],
  ["shared_claude_session_ids", "Claude session ids shared by two tasks"],
  ["counters_not_checked", "Counters not checked (over 2,000 tasks)"],
];

export async function adminPage(main) {
  main.append(h("h1", {}, "Administration"));
  try {
    const me = await offer();
    if (!me.admin) main.append(h("p", { class: "notice" }, `${me.principal} is not an administrator: the API will refuse these reports.`));
  } catch {
    // the sections below show the API's own answer
  }
  const report = h("section", { "aria-labelledby": "report-title" }, h("h2", { id: "report-title" }, "Consistency report"));
  const letters = h("section", { "aria-labelledby": "dlq-title" }, h("h2", { id: "dlq-title" }, "Dead-letter queue"));
  main.append(report, letters);
  await Promise.all([showReport(report), showDeadLetters(letters)]);
}

async function showReport(section) {
  const problem = errorSlot();
  // The report is the janitor's last full check (it scans in budgeted steps on its schedule): this reads it again.
  const refresh = h("button", { type: "button", onclick: () => load() }, "Read the latest report");
  const body = h("div", { "aria-live": "polite" }, h("p", {}, "Reading the janitor's last report…"));
  section.append(refresh, problem, body);
  async function load() {
    problem.clear();
    try {
      const data = await get("/admin/consistency");
      const rows = FIGURES.filter(([key]) => key in data).map(([key, label]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, String(data[key]))));
      const violations = data.violations || [];
      const unlisted = data.violations_not_listed || 0;
      const when = data.completed_at ? `Full check started ${data.started_at}, completed ${data.completed_at}.` : "";
      body.replaceChildren(
        h("p", {}, when),
        h("table", { "aria-label": "Consistency figures" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Figure"), h("th", { scope: "col" }, "Count"))), h("tbody", {}, rows)),
        h("h3", {}, `Violations: ${violations.length + unlisted}`),
        unlisted ? h("p", {}, `${unlisted} more not listed (the list keeps the first ${violations.length}).`) : "",
        violations.length
          ? h("ul", { "aria-label": "Violations" }, violations.map((v) => h("li", {}, h("strong", {}, v.kind), " ", h("code", {}, v.subject), ": ", v.detail)))
          : h("p", {}, "None: every invariant holds."),
      );
    } catch (err) {
      body.replaceChildren();
      problem.show(err);
    }
  }
  await load();
}

async function showDeadLetters(section) {
  const problem = errorSlot();
  const outcome = h("div", { role: "status" });
  const body = h("div");
  section.append(problem, body, outcome);
  async function redrive(ids) {
    problem.clear();
    try {
      const result = await call("POST", "/admin/dead-letters/redrive", { message_ids: ids });
      outcome.replaceChildren(
        h("p", {}, `Redriven: ${result.redriven.length}. Refused: ${result.refused.length}.`),
        result.refused.length ? h("ul", {}, result.refused.map((r) => h("li", {}, h("code", {}, r.message_id), `: ${r.detail}`))) : "",
      );
      await load();
    } catch (err) {
      problem.show(err);
    }
  }
  async function load() {
    try {
      const page = await get("/admin/dead-letters", { limit: 100 });
      if (!page.items.length) {
        body.replaceChildren(h("p", {}, "The dead-letter queue is empty."));
        return;
      }
      body.replaceChildren(
        h("button", { type: "button", onclick: () => redrive([]) }, "Redrive all"),
        h(
          "table",
          { "aria-label": "Dead letters" },
          h("thead", {}, h("tr", {}, ["Message", "Kind", "Task", "Reason", "Sent", "Received", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            {},
            page.items.map((m) =>
              h(
                "tr",
                {},
                h("td", {}, h("code", {}, m.message_id.slice(0, 8))),
                h("td", {}, m.kind || "–"),
                h("td", {}, m.task_id ? h("a", { href: `#/tasks/${m.task_id}` }, m.task_id.slice(0, 8)) : "–"),
                h("td", {}, m.reason || "–"),
                h("td", {}, when(m.sent_at)),
                h("td", {}, `${m.receive_count}×`),
                h("td", {}, h("button", { type: "button", "aria-label": `Redrive message ${m.message_id.slice(0, 8)}`, onclick: () => redrive([m.message_id]) }, "Redrive")),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      if (err.status === 404) {
        body.replaceChildren(h("p", { class: "notice" }, "This deployment's API does not serve the dead-letter queue (GET /admin/dead-letters answered 404)."));
      } else problem.show(err);
    }
  }
  await load();
}
