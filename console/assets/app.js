// The console: hash routes to pages; each page renders into <main> and returns a function that stops its
// polling when the user leaves it.
import { get } from "./api.js";
import * as auth from "./auth.js";
import { h } from "./dom.js";
import { adminPage } from "./pages/admin.js";
import { sessionPage } from "./pages/session.js";
import { sessionsPage } from "./pages/sessions.js";
import { signInPage } from "./pages/sign_in.js";
import { taskPage } from "./pages/task.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
let leave = () => {};
let capabilities = null;

const ROUTES = [
  [/^#\/sessions\/([\w-]+)$/, sessionPage],
  [/^#\/tasks\/([\w-]+)$/, taskPage],
  [/^#\/admin$/, adminPage],
  [/^#\/sessions$/, sessionsPage],
];

/** What the deployment offers the signed-in caller (GET /capabilities), fetched once per sign-in. */
export async function offer() {
  capabilities = capabilities || (await get("/capabilities"));
  return capabilities;
}

async function route() {
  leave();
  leave = () => {};
  const hash = location.hash || "#/sessions";
  if (hash !== "#/sign-in" && !auth.token()) {
    auth.signInAgain(null); // the hash change renders the sign-in page
    return;
  }
  if (hash === "#/sign-in") {
    capabilities = null;
    who.replaceChildren();
    main.replaceChildren();
    signInPage(main, () => {
      location.hash = auth.returnPlace();
    });
    return;
  }
  const [pattern, page] = ROUTES.find(([p]) => p.test(hash)) || [/^/, sessionsPage];
  main.replaceChildren();
  showWho();
  const stop = await page(main, ...(hash.match(pattern) || []).slice(1));
  leave = typeof stop === "function" ? stop : () => {};
  main.focus({ preventScroll: true });
}

async function showWho() {
  try {
    const me = await offer();
    who.replaceChildren(
      `Signed in as ${me.principal}${me.admin ? " (admin)" : ""} `,
      h("button", { type: "button", onclick: () => auth.signOut() }, "Sign out"),
    );
  } catch {
    who.replaceChildren();
  }
}

async function start() {
  try {
    await auth.loadConfig();
    if (await auth.finishCognitoSignIn()) history.replaceState(null, "", auth.returnPlace());
  } catch (err) {
    main.replaceChildren(h("p", { class: "error", role: "alert" }, String(err.message || err)));
    return;
  }
  addEventListener("hashchange", route);
  route();
}

start();
