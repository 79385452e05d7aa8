// Sign-in. The token lives in this module's memory only: never localStorage, never sessionStorage (a reload
// signs in again). sessionStorage keeps only where to return to and, during a Cognito sign-in, the PKCE
// verifier and state, which are useless without the authorization code Cognito sends back once.
const RETURN = "console.return";
const PKCE = "console.pkce";

let settings = null;
let accessToken = null;
let notice = null;

export const config = () => settings;
export const token = () => accessToken;
export const noticeOnce = () => {
  const text = notice;
  notice = null;
  return text;
};

export async function loadConfig() {
  const response = await fetch("./config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  settings = await response.json();
  settings.api_url = (settings.api_url || "").replace(/\/$/, "");
  return settings;
}

/** Forget the token and show the sign-in page, keeping the current place to come back to. */
export function signInAgain(message) {
  accessToken = null;
  notice = message;
  const place = location.hash.startsWith("#/sign-in") ? "" : location.hash;
  if (place) sessionStorage.setItem(RETURN, place);
  location.hash = "#/sign-in";
}

export function signOut() {
  accessToken = null;
  sessionStorage.removeItem(RETURN);
  if (settings?.auth?.kind === "cognito") {
    const { domain, client_id, redirect_uri } = settings.auth;
    const url = new URL("/logout", domain);
    url.search = new URLSearchParams({ client_id, logout_uri: redirect_uri }).toString();
    location.assign(url);
    return;
  }
  location.hash = "#/sign-in";
}

/** Where to go after signing in: the kept place, else the sessions. */
export function returnPlace() {
  const place = sessionStorage.getItem(RETURN) || "#/sessions";
  sessionStorage.removeItem(RETURN);
  return place;
}

/** Local sign-in: the name is the principal (`Bearer <name>`), as the local gateway's authorizer takes it. */
export function signInLocally(name) {
  accessToken = name.trim();
}

/** Start Cognito's managed login: authorization code with PKCE (S256). */
export async function startCognitoSignIn() {
  const { domain, client_id, redirect_uri, scopes } = settings.auth;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const url = new URL("/oauth2/authorize", domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id,
    redirect_uri,
    scope: (scopes || ["openid", "email"]).join(" "),
    state,
    code_challenge_method: "S256",
    code_challenge: challenge,
  }).toString();
  location.assign(url);
}

/** On return from Cognito (`?code=…&state=…`): exchange the code for tokens; true when signed in. */
export async function finishCognitoSignIn() {
  const query = new URLSearchParams(location.search);
  const code = query.get("code");
  if (settings?.auth?.kind !== "cognito" || !code) return false;
  const kept = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, "", location.pathname + location.hash); // the code is single-use: drop it
  if (!kept || kept.state !== query.get("state")) throw new Error("The sign-in answer did not match the request: sign in again.");
  const { domain, client_id, redirect_uri } = settings.auth;
  const response = await fetch(new URL("/oauth2/token", domain), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id, code, redirect_uri, code_verifier: kept.verifier }),
  });
  if (!response.ok) throw new Error(`Cognito refused the sign-in (HTTP ${response.status}): sign in again.`);
  accessToken = (await response.json()).access_token;
  return true;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
