// The HTTP API: one `call` that adds the caller's token, reads problem+json errors and answers 401 by
// sending the user to sign in again with their place kept.
import { config, signInAgain, token } from "./auth.js";

export class ApiError extends Error {
  constructor(status, detail, problem) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.problem = problem;
  }
}

export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`${config().api_url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `The API could not be reached (${err.message}). Is the stack running?`);
  }
  if (response.status === 401) {
    signInAgain("Your sign-in has expired or was refused: sign in again to continue where you were.");
    throw new ApiError(401, "Signed out");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data?.detail || data?.message || `${method} ${path} answered HTTP ${response.status}`;
    throw new ApiError(response.status, detail, data);
  }
  return data;
}

/** `GET path?query`, the query from an object (nullish values left out). */
export function get(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") params.set(k, v);
  const qs = params.toString();
  return call("GET", qs ? `${path}?${qs}` : path);
}
