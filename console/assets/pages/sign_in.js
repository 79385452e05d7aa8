// Sign in: locally a name (the principal the local gateway's authorizer takes from `Bearer <name>`); in AWS,
// Cognito's managed login.
import * as auth from "../auth.js";
import { errorSlot, field, h } from "../dom.js";

export function signInPage(main, done) {
  const notice = auth.noticeOnce();
  const heading = h("h1", {}, "Sign in");
  const note = notice ? h("p", { class: "notice", role: "status" }, notice) : null;
  if (auth.config().auth?.kind === "cognito") {
    const problem = errorSlot();
    const go = h("button", { type: "button", onclick: () => auth.startCognitoSignIn().catch(problem.show) }, "Sign in with Cognito");
    main.append(heading, note || "", h("p", {}, "You sign in on this deployment's Cognito page, then come back here."), go, problem);
    return;
  }
  const name = h("input", { name: "name", required: true, autocomplete: "username", maxlength: "128", pattern: "[A-Za-z0-9._@+:\\-]+", title: "Letters, digits and . _ @ + : -" });
  const form = h(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        if (!form.reportValidity()) return;
        auth.signInLocally(name.value);
        done();
      },
    },
    field("Your name", name, "Locally you are who you say: the API sees Authorization: Bearer <your name> (letters, digits, . _ @ + : -). The name admin is the administrator."),
    h("button", { type: "submit" }, "Sign in"),
  );
  main.append(heading, note || "", form);
  name.focus();
}
