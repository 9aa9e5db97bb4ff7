// Number, amount and address formatting. Token amounts arrive as decimal strings of base units
// (uint256 does not fit a JS number); they are scaled by the token's decimals here.

/** Converts a base-unit decimal string to token units as a float (for charts and ratios). */
export function units(raw: string | number | null | undefined, decimals: number): number {
  if (raw === null || raw === undefined || raw === "") return 0;
  if (typeof raw === "number") return raw / 10 ** decimals;
  const negative = raw.startsWith("-");
  const digits = (negative ? raw.slice(1) : raw).split(".")[0] ?? "0";
  const padded = digits.padStart(decimals + 1, "0");
  const whole = padded.slice(0, padded.length - decimals);
  const frac = padded.slice(padded.length - decimals);
  const value = Number(`${whole}.${frac || "0"}`);
  return negative ? -value : value;
}

const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A token amount in units: compact above 10k ("12.3K"), whole above 1k, else 2 decimals. */
export function fmtAmount(value: number, symbol = ""): string {
  const abs = Math.abs(value);
  const text = abs >= 10_000 ? compact.format(value) : abs >= 1_000 ? whole.format(value) : plain.format(value);
  return symbol ? `${text} ${symbol}` : text;
}

/** A count, compact above 10k. */
export function fmtCount(value: number): string {
  return Math.abs(value) >= 10_000 ? compact.format(value) : plain.format(value);
}

/** A 0..1 ratio as a percentage; "–" when undefined (no volume in the window). */
export function fmtPct(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "–";
  return `${(ratio * 100).toFixed(digits)}%`;
}

/** A plain number with a fixed number of decimals; "–" when undefined. */
export function fmtNum(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toFixed(digits);
}

/** 0x1234…abcd */
export function shortHex(hex: string, keep = 4): string {
  if (!hex || hex.length <= 2 + keep * 2 + 1) return hex;
  return `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}`;
}

/** An ISO time as "2026-11-21 14:03 UTC". */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** An ISO time as its UTC date, "2026-11-21". */
export function fmtDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 10);
}
