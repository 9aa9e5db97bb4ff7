// JSON over HTTP against the API, with its RFC 9457 problem bodies turned into readable errors.

/** A failed API call: the HTTP status and the problem the API reported. */
export class ApiCallError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    /** What the API said went wrong (its problem `detail`), or why it did not answer. */
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** Query parameters; empty values are left out. */
export type Query = Record<string, string | number | undefined | null>;

/** Builds `path?query`, leaving out empty values. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** GETs JSON from the API (same origin: the API serves this page). */
export async function getJson<T>(path: string, query: Query = {}): Promise<T> {
  const url = withQuery(path, query);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" } });
  } catch (e) {
    throw new ApiCallError(url, 0, `the API did not answer (${(e as Error).message})`);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = (await response.json()) as { detail?: string };
      if (problem.detail) detail = problem.detail;
    } catch {
      // Not a problem body; the status line says enough.
    }
    throw new ApiCallError(url, response.status, detail);
  }
  return JSON.parse(await response.text(), keepBigIntegers) as T;
}

/**
 * A JSON.parse reviver that keeps integers beyond 2^53 (the classifier's 63-bit cluster ids, raw
 * token amounts) as their exact decimal text instead of a rounded number. Uses the source text
 * JSON.parse hands revivers (Chromium 114+); elsewhere values pass through unchanged.
 */
function keepBigIntegers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
    return context.source;
  }
  return value;
}
