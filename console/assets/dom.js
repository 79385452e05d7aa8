// Building the page from DOM nodes and `textContent` only: no string of HTML is ever parsed, so nothing the
// API returns (prompts, replies, tool output, error details) can become markup or script.

/** `h("button", {type: "button", onclick: f}, "Save")`: an element; attributes, properties and children. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let ids = 0;
/** A unique id for tying a label or description to its control. */
export const uid = (prefix) => `${prefix}-${++ids}`;

/** A labelled form field: `field("Prompt", h("textarea", {name: "prompt"}), "help text")`. */
export function field(label, control, help) {
  control.id = control.id || uid("f");
  const hint = help ? h("small", { id: uid("hint") }, help) : null;
  if (hint) control.setAttribute("aria-describedby", hint.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint);
}

/** A place for a problem's detail, next to the control that caused it; `show(err)` / `clear()`. */
export function errorSlot() {
  const slot = h("p", { class: "error", role: "alert", hidden: true });
  slot.show = (err) => {
    slot.textContent = err?.detail || String(err);
    slot.hidden = false;
  };
  slot.clear = () => {
    slot.textContent = "";
    slot.hidden = true;
  };
  return slot;
}

/** A term with a tooltip a keyboard reaches: a button described by it, shown on hover and focus. */
export function withTip(term, tip) {
  const id = uid("tip");
  return h(
    "span",
    { class: "tip" },
    h("code", {}, term),
    h("button", { type: "button", class: "tip-button", "aria-label": `What is ${term}?`, "aria-describedby": id }, "?"),
    h("span", { role: "tooltip", id }, tip),
  );
}

export const short = (id) => (id ? id.slice(0, 8) : "");
export const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+.*$|Z$|\+00:00$/, "") : "");
export const usd = (n) => `$${(n || 0).toFixed(4)}`;
export const seconds = (ms) => (ms == null ? "–" : `${(ms / 1000).toFixed(1)} s`);
export const tokens = (u) => (u ? (u.input_tokens || 0) + (u.output_tokens || 0) : 0);
